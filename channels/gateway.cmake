# Sources of the gateway (owned by the gateway component).
target_sources(teller_channels PRIVATE
    src/gateway.cpp
    src/outbound_dispatcher.cpp
    src/rate_limiter.cpp
    src/webchat_page.cpp
    src/webchat_protocol.cpp
    src/webchat_token.cpp
    src/webhook_job.cpp
    src/ws_session.cpp)
