# Tests of the Telegram adapter and the text helpers it shares with the WhatsApp adapter.
teller_add_test(telegram_test LABEL unit TIMEOUT 60
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/telegram_test.cpp
            ${CMAKE_CURRENT_LIST_DIR}/messenger_text_test.cpp
    LIBS teller::channels)
target_include_directories(telegram_test PRIVATE ${PROJECT_SOURCE_DIR}/channels/src)

# Throughput probe (not a test): messenger_bench [iterations] measures both adapters offline.
if(TELLER_BUILD_BENCH)
    add_executable(messenger_bench ${CMAKE_CURRENT_LIST_DIR}/messenger_bench.cpp)
    target_link_libraries(messenger_bench PRIVATE teller_warnings teller::channels OpenSSL::Crypto)
endif()
