# SMS adapter tests: encoding and keywords (pure functions), the adapter against a scripted
# ProviderClient and the memory store (unit), and opt-outs shared through real Redis.
teller_add_test(sms_test LABEL unit TIMEOUT 60
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/sms_encoding_test.cpp
            ${CMAKE_CURRENT_LIST_DIR}/sms_adapter_test.cpp
    LIBS teller::channels OpenSSL::Crypto)
# The tests also check the private text helpers the adapter uses.
target_include_directories(sms_test PRIVATE ${PROJECT_SOURCE_DIR}/channels/src)

teller_add_test(sms_redis_test LABEL integration TIMEOUT 120
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/sms_redis_test.cpp
    LIBS teller::channels teller_test_support OpenSSL::Crypto PkgConfig::HIREDIS)
