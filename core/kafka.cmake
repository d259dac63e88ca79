# Sources of the kafka component (owned by that component).
target_sources(teller_core PRIVATE
    src/kafka/admin.cpp
    src/kafka/consumer.cpp
    src/kafka/kafka_common.cpp
    src/kafka/mock_cluster.cpp
    src/kafka/producer.cpp)
