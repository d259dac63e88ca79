# Sources of the WhatsApp Cloud API adapter (it shares src/messenger_text.cpp, listed in
# telegram.cmake).
target_sources(teller_channels PRIVATE
    src/whatsapp_adapter.cpp)
