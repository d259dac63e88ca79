# Sources of the Telegram adapter (and the text helpers it shares with the WhatsApp adapter).
target_sources(teller_channels PRIVATE
    src/messenger_text.cpp
    src/telegram_adapter.cpp)
