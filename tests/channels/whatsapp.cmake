# Tests of the WhatsApp Cloud API adapter (signatures are computed with OpenSSL in the test).
teller_add_test(whatsapp_test LABEL unit TIMEOUT 60
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/whatsapp_test.cpp
    LIBS teller::channels OpenSSL::Crypto)
