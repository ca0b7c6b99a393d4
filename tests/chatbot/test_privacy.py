from chatbot.privacy import mask_card_numbers, scrub_pii


def test_scrub_pii_replaces_emails_cards_and_phones_but_keeps_order_numbers():
    text = (
        "Mail jane.doe+shop@example.co.uk, card 4111 1111 1111 1111, call +1 555-123-4567 "
        "about order 12345678 and tracking 1Z999AA10123456784."
    )
    clean = scrub_pii(text)
    assert "example.co.uk" not in clean and "{{Email Address}}" in clean
    assert "4111" not in clean and "{{Card Number}}" in clean
    assert "555-123-4567" not in clean and "{{Phone Number}}" in clean
    assert "order 12345678" in clean and "1Z999AA10123456784" in clean


def test_a_digit_run_that_fails_the_luhn_check_is_not_a_card():
    assert scrub_pii("invoice 4111111111111112") == "invoice 4111111111111112"


def test_card_numbers_are_masked_to_their_last_four_digits_and_nothing_else_changes():
    text = "Why was 4111 1111 1111 1111 charged twice? Order 12345678, invoice 4111111111111112, 5500-0000-0000-0004."
    assert mask_card_numbers(text) == (
        "Why was [card ending 1111] charged twice? Order 12345678, invoice 4111111111111112, [card ending 0004]."
    )
    assert mask_card_numbers("Mail me at jane@example.com or +1 555-123-4567") == (
        "Mail me at jane@example.com or +1 555-123-4567"  # staff need these to help the customer
    )
