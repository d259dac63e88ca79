# Sources of the WeChat Official Account adapter and its XML reader.
target_sources(teller_channels PRIVATE
    src/wechat_adapter.cpp
    src/wechat_xml.cpp)
