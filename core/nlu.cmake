# Sources of the nlu component: tokenizer, model file format, evaluation, the LibTorch model.
# Only intent_model.cpp includes torch headers (they cost seconds per translation unit).
target_sources(teller_nlu PRIVATE
    src/nlu/evaluation.cpp
    src/nlu/intent_model.cpp
    src/nlu/model_file.cpp
    src/nlu/tokenizer.cpp)
# Rule-based entity extractors (no torch).
target_sources(teller_nlu PRIVATE
    src/nlu/entities.cpp
    src/nlu/entities_date.cpp
    src/nlu/entities_numeral.cpp)
