# Sources of the provider side of the channels: the HTTP client and the delivery loop.
target_sources(teller_channels PRIVATE
    src/http_provider_client.cpp
    src/provider_delivery.cpp)
target_link_libraries(teller_channels PRIVATE OpenSSL::SSL)
