# WeChat adapter tests: the strict XML reader, and the adapter against a scripted
# ProviderClient and the memory store (signatures are computed with OpenSSL in the test).
teller_add_test(wechat_test LABEL unit TIMEOUT 60
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/wechat_xml_test.cpp
            ${CMAKE_CURRENT_LIST_DIR}/wechat_adapter_test.cpp
    LIBS teller::channels OpenSSL::Crypto)
