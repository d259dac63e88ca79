# Sources of the nlu component (owned by that component).
target_sources(teller_nlu PRIVATE src/nlu/placeholder.cpp)  # replaced by the NLU component
