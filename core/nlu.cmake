# Sources of the nlu component: tokenizer, model file format, evaluation, the LibTorch models.
# Only intent_model.cpp, tagger.cpp and torchscript_model.cpp include torch headers (they cost
# seconds per translation unit).
target_sources(teller_nlu PRIVATE
    src/nlu/evaluation.cpp
    src/nlu/intent_model.cpp
    src/nlu/model_file.cpp
    src/nlu/sequence_tags.cpp
    src/nlu/tagger.cpp
    src/nlu/tokenizer.cpp
    src/nlu/torchscript_model.cpp)
# Rule-based entity extractors (no torch).
target_sources(teller_nlu PRIVATE
    src/nlu/entities.cpp
    src/nlu/entities_date.cpp
    src/nlu/entities_numeral.cpp)
# Training data files (YAML, inline annotations), their validator and the evaluation report.
target_sources(teller_nlu PRIVATE
    src/nlu/training_data.cpp
    src/nlu/training_data_formats.cpp
    src/nlu/eval_report_html.cpp)
target_link_libraries(teller_nlu PRIVATE yaml-cpp)
