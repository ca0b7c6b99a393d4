import pytest

from chatbot.errors import InputError, RateLimitedError
from chatbot.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_allows_the_limit_then_refuses_until_the_window_moves_on():
    clock = Clock()
    limiter = RateLimiter(3, 60.0, clock=clock)
    for _ in range(3):
        limiter.hit("a")
        clock.now += 10
    with pytest.raises(RateLimitedError, match="the limit is 3") as refused:
        limiter.hit("a")
    assert refused.value.retry_after_s == 30  # the first message (t=1000) leaves the window at t=1060
    assert isinstance(refused.value, InputError)  # shown to the sender like any refused input
    clock.now = 1060.0
    limiter.hit("a")  # the oldest has left the window
    with pytest.raises(RateLimitedError):
        limiter.hit("a")


def test_refused_messages_do_not_count():
    clock = Clock()
    limiter = RateLimiter(1, 60.0, clock=clock)
    limiter.hit("a")
    for _ in range(5):
        with pytest.raises(RateLimitedError):
            limiter.hit("a")
    clock.now += 60
    limiter.hit("a")


def test_keys_are_counted_apart_and_zero_means_no_limit():
    limiter = RateLimiter(1, 60.0, clock=Clock())
    limiter.hit("a")
    limiter.hit("b")
    with pytest.raises(RateLimitedError):
        limiter.hit("a")
    unlimited = RateLimiter(0)
    for _ in range(1000):
        unlimited.hit("a")


def test_memory_stays_bounded_by_max_keys():
    clock = Clock()
    limiter = RateLimiter(1, 60.0, clock=clock, max_keys=10)
    for n in range(10):
        limiter.hit(f"old {n}")
    clock.now += 61  # all idle now
    limiter.hit("new")
    assert set(limiter._events) == {"new"}
    for n in range(50):  # all active: the oldest are dropped rather than growing without bound
        limiter.hit(f"busy {n}")
    assert len(limiter._events) <= 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": -1}, "limit must be 0"),
        ({"limit": 1, "window_s": 0}, "window_s"),
        ({"limit": 1, "max_keys": 0}, "max_keys"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RateLimiter(**kwargs)
