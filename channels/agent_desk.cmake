# Sources of the agent desk (handed-off conversations for people; owned by the desk component).
target_sources(teller_channels PRIVATE
    src/agent_desk.cpp
    src/agent_desk_page.cpp
    src/agent_desk_protocol.cpp
    src/agent_desk_session.cpp)
