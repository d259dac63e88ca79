# teller::nlg: response templates and locale formatting, the FAQ knowledge base, the LibTorch
# FAQ retrieval model and reply generator. Only faq_model.cpp and generator.cpp include torch.
add_library(teller_nlg)
add_library(teller::nlg ALIAS teller_nlg)
target_link_libraries(teller_nlg PUBLIC teller::core teller::nlu
    PRIVATE teller_warnings ${TORCH_LIBRARIES} yaml-cpp)
# The FAQ model and the generator reuse the NLU model file format (src/nlu/model_file.hpp).
target_include_directories(teller_nlg PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_sources(teller_nlg PRIVATE
    src/nlg/format.cpp
    src/nlg/guard.cpp
    src/nlg/knowledge_base.cpp
    src/nlg/nlg.cpp
    src/nlg/templates.cpp)
target_sources(teller_nlg PRIVATE
    src/nlg/faq_model.cpp
    src/nlg/generator.cpp)
