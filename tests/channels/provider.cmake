# Tests of the provider client and the provider delivery loop.
teller_add_test(provider_test LABEL integration TIMEOUT 120
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/http_provider_client_test.cpp
            ${CMAKE_CURRENT_LIST_DIR}/provider_delivery_test.cpp
    LIBS teller::channels OpenSSL::SSL OpenSSL::Crypto)
