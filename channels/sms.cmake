# Sources of the SMS adapter (Twilio-style), and the text helpers the WeChat adapter shares.
target_sources(teller_channels PRIVATE
    src/sms_adapter.cpp
    src/sms_encoding.cpp
    src/sms_form.cpp
    src/sms_text.cpp)
