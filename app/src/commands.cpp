// The teller subcommands: run (gateway + engine in one process), engine, gateway, train, eval.
#include "commands.hpp"

#include <unistd.h>
#include <csignal>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <thread>

#include <boost/json.hpp>

#include "bot_setup.hpp"
#include "teller/channels/gateway.hpp"
#include "teller/channels/outbound_dispatcher.hpp"
#include "teller/core/backend.hpp"
#include "teller/core/config.hpp"
#include "teller/core/engine.hpp"
#include "teller/core/kafka.hpp"
#include "teller/core/log.hpp"
#include "teller/core/session_store.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlu/intent_model.hpp"

namespace teller::app {
namespace fs = std::filesystem;
using core::Error;

namespace {

const core::Logger& log() {
    static const core::Logger logger("teller");
    return logger;
}

std::vector<FlagSpec> kafka_flags() {
    return {
        {"kafka-brokers", "HOSTS", "Kafka bootstrap servers (default: in-process mock cluster)"}};
}

std::vector<FlagSpec> engine_flags() {
    return join(
        {{{"redis-url", "URL", "Redis for sessions (default: in-memory store)"}}, bot_flags()});
}

std::vector<FlagSpec> gateway_flags() {
    return {
        {"host", "ADDR", "address the gateway binds (default 127.0.0.1)"},
        {"port", "PORT", "port the gateway binds (default 8080; 0 picks a free one)"},
        {"instance-id", "ID", "this gateway's id, written as reply_to (default: generated)"},
    };
}

std::string environment_help() {
    std::string text = "Environment (overrides the configuration file; flags override both):\n";
    for (const auto& [name, description] : core::config_environment_variables()) {
        text += "  " + name + std::string(name.size() < 28 ? 28 - name.size() : 1, ' ') +
                description + "\n";
    }
    return text;
}

core::KafkaConfig kafka_config(const std::string& brokers, const std::string& client_id) {
    core::KafkaConfig k;
    k.brokers = brokers;
    k.client_id = client_id;
    return k;
}

// Kafka as configured, or an in-process mock cluster when no brokers are set.
struct Kafka {
    std::unique_ptr<core::MockCluster> mock;
    std::string brokers;
};

Kafka start_kafka(const core::Config& config) {
    Kafka k;
    k.brokers = config.kafka_brokers;
    if (k.brokers.empty()) {
        k.mock = std::make_unique<core::MockCluster>(1);
        k.brokers = k.mock->bootstrap_servers();
        std::cout << "Kafka: no brokers configured, started librdkafka's mock cluster at "
                  << k.brokers << " (e.g. kcat -b " << k.brokers << " -C -t teller.outbound)"
                  << std::endl;
    } else {
        log().info("kafka: using brokers", {{"brokers", k.brokers}});
    }
    auto ec =
        core::create_topics(kafka_config(k.brokers, "teller-admin"),
                            {std::string(core::kInboundTopic), std::string(core::kOutboundTopic),
                             std::string(core::kEventsTopic), std::string(core::kDlqTopic)},
                            config.inbound_partitions, std::chrono::seconds(10));
    if (ec) {
        throw Error("cannot create Teller's topics on " + k.brokers + ": " + ec.message(), true);
    }
    return k;
}

std::unique_ptr<core::SessionStore> open_store(const core::Config& config) {
    auto store = config.redis_url.empty() ? core::make_memory_session_store()
                                          : core::make_redis_session_store(config.redis_url);
    std::cout << "Sessions: " << store->describe()
              << (config.redis_url.empty() ? " (set TELLER_REDIS_URL or --redis-url for Redis)"
                                           : "")
              << std::endl;
    return store;
}

// Blocks SIGINT and SIGTERM in every thread started later; wait_for_signal() then takes them.
void block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_signal() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signal = 0;
    sigwait(&set, &signal);
    return signal;
}

// The engine: consumer, producer, store, model and skills, polling on its own thread.
struct EngineParts {
    Skills skills;
    std::unique_ptr<nlu::IntentModel> model;
    std::unique_ptr<core::SessionStore> store;
    std::unique_ptr<core::KafkaProducer> producer;
    std::unique_ptr<core::KafkaConsumer> consumer;
    std::unique_ptr<core::Engine> engine;
    std::jthread thread;

    void stop() {
        if (thread.joinable()) {
            thread.request_stop();
            thread.join();
        }
        if (producer) {
            producer->flush(std::chrono::seconds(5));
        }
    }
};

// Skills, model and session store: everything that can fail on configuration, checked before
// Kafka is touched.
std::unique_ptr<EngineParts> prepare_engine(const core::Config& config) {
    auto parts = std::make_unique<EngineParts>();
    parts->skills = load_skills(config);
    parts->model = load_model(config, *parts->skills.host);
    parts->store = open_store(config);
    return parts;
}

void start_engine(EngineParts& parts, const core::Config& config, const std::string& brokers) {
    parts.producer = std::make_unique<core::KafkaProducer>(kafka_config(brokers, "teller-engine"));
    parts.consumer = std::make_unique<core::KafkaConsumer>(
        kafka_config(brokers, "teller-engine"), config.engine_group,
        std::vector<std::string>{std::string(core::kInboundTopic)});

    core::EngineOptions options;
    options.dialogue.confidence_threshold = static_cast<float>(config.confidence_threshold);
    options.session_ttl = std::chrono::seconds(config.session_ttl_seconds);
    parts.engine = std::make_unique<core::Engine>(*parts.consumer, *parts.producer, *parts.store,
                                                  *parts.model, *parts.skills.host, options);
    parts.thread =
        std::jthread([engine = parts.engine.get()](std::stop_token stop) { engine->run(stop); });
    log().info("engine started", {{"group", config.engine_group}});
}

// The gateway: HTTP/WebSocket server, its producer, and the outbound dispatcher.
struct GatewayParts {
    std::unique_ptr<core::KafkaProducer> producer;
    std::unique_ptr<channels::Gateway> gateway;
    std::unique_ptr<core::KafkaConsumer> outbound;
    std::unique_ptr<channels::OutboundDispatcher> dispatcher;

    void stop() {
        if (gateway) {
            gateway->stop();
        }
        if (dispatcher) {
            dispatcher->stop();
        }
        if (producer) {
            producer->flush(std::chrono::seconds(5));
        }
    }
};

// `ready` backs /readyz; empty means ready once listening.
std::unique_ptr<GatewayParts> start_gateway(const core::Config& config, const std::string& brokers,
                                            std::function<bool()> ready = {}) {
    auto parts = std::make_unique<GatewayParts>();
    parts->producer =
        std::make_unique<core::KafkaProducer>(kafka_config(brokers, "teller-gateway"));

    channels::GatewayOptions options;
    options.host = config.http_host;
    options.port = config.http_port;
    options.instance_id = config.instance_id;
    parts->gateway = std::make_unique<channels::Gateway>(options, *parts->producer);
    if (ready) {
        parts->gateway->set_readiness(std::move(ready));
    }

    // Each gateway reads every reply in its own group and keeps those addressed to it.
    // A new instance starts at the end of teller.outbound (the replies before it belong to other
    // instances); it listens only once it holds its partitions, so no reply to it is missed.
    const std::string& id = parts->gateway->instance_id();
    core::KafkaConfig outbound_config = kafka_config(brokers, "teller-gateway");
    outbound_config.properties["auto.offset.reset"] = "latest";
    parts->outbound = std::make_unique<core::KafkaConsumer>(
        outbound_config, "teller-gateway-" + id,
        std::vector<std::string>{std::string(core::kOutboundTopic)});
    parts->dispatcher =
        std::make_unique<channels::OutboundDispatcher>(*parts->outbound, *parts->gateway);
    parts->dispatcher->start();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (parts->outbound->assignment().empty()) {
        if (std::chrono::steady_clock::now() > deadline) {
            throw Error("the gateway's consumer of " + std::string(core::kOutboundTopic) +
                            " got no partitions within 30 s from " + brokers,
                        true);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    std::uint16_t port = parts->gateway->start();
    std::string host = config.http_host == "0.0.0.0" ? "127.0.0.1" : config.http_host;
    std::cout << "Gateway " << id << " listening on http://" << host << ":" << port
              << "  (web chat page; WebSocket ws://" << host << ":" << port << "/ws)" << std::endl;
    return parts;
}

int run_until_signal(const char* what) {
    std::cout << what << " is running. Press Ctrl-C to stop." << std::endl;
    int signal = wait_for_signal();
    std::cout << "Received " << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping..."
              << std::endl;
    return 0;
}

void print_train_progress(int epoch, int epochs, double loss, double seconds) {
    std::fprintf(stderr, "  epoch %2d/%d  loss %.4f  %.1f s\n", epoch, epochs, loss, seconds);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int run_main(const Args& args) {
    core::Config config = load_config(args);
    block_stop_signals();
    Kafka kafka;  // declared first so the mock cluster outlives every client of it
    auto engine = prepare_engine(config);
    kafka = start_kafka(config);
    start_engine(*engine, config, kafka.brokers);
    // Ready while the session store answers: without it no message can be answered.
    core::SessionStore* store = engine->store.get();
    auto gateway = start_gateway(config, kafka.brokers,
                                 [store] { return store->load("teller:readyz").has_value(); });
    int status = run_until_signal("Teller");

    // The engine finishes its batch first, so the replies to what the customers already sent
    // still reach their sockets before the gateway closes them.
    engine->stop();
    // TODO(teller): the grace period is a fixed second; waiting until the dispatcher has read
    // teller.outbound up to its end offsets would be exact.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    gateway->stop();
    return status;
}

int engine_main(const Args& args) {
    core::Config config = load_config(args);
    if (config.kafka_brokers.empty()) {
        throw Error("teller engine needs Kafka brokers (--kafka-brokers or TELLER_KAFKA_BROKERS)");
    }
    block_stop_signals();
    Kafka kafka;  // declared first so it outlives the engine's clients
    auto engine = prepare_engine(config);
    kafka = start_kafka(config);
    start_engine(*engine, config, kafka.brokers);
    int status = run_until_signal("The engine");
    engine->stop();
    return status;
}

int gateway_main(const Args& args) {
    core::Config config = load_config(args);
    if (config.kafka_brokers.empty()) {
        throw Error("teller gateway needs Kafka brokers (--kafka-brokers or TELLER_KAFKA_BROKERS)");
    }
    block_stop_signals();
    Kafka kafka = start_kafka(config);
    auto gateway = start_gateway(config, kafka.brokers);
    int status = run_until_signal("The gateway");
    gateway->stop();
    return status;
}

int train_main(const Args& args) {
    core::Config config = load_config(args);
    fs::path output = args.get("output").value_or(config.model_path.string());
    Skills skills = load_skills(config);
    auto data = training_data(*skills.host);
    std::cerr << "Training the intent model on " << data.size() << " examples of "
              << skills.host->intents().size() << " intents from skills";
    for (const auto& name : skills.host->skills()) {
        std::cerr << " " << name;
    }
    std::cerr << "\n";

    nlu::TrainOptions options;
    options.progress = print_train_progress;
    if (auto epochs = args.get("epochs")) {
        options.epochs = std::stoi(*epochs);
    }
    auto start = std::chrono::steady_clock::now();
    auto model = nlu::IntentModel::train(data, options);
    if (output.has_parent_path()) {
        fs::create_directories(output.parent_path());
    }
    model->save(output);
    std::cout << "Wrote " << output.string() << " (" << model->intents().size() << " intents, "
              << data.size() << " examples, " << std::fixed << std::setprecision(1)
              << seconds_since(start) << " s, fingerprint "
              << model->training_fingerprint().substr(0, 12) << ")" << std::endl;
    return 0;
}

int eval_main(const Args& args) {
    auto test_path = args.get("test");
    if (!test_path) {
        throw Error("--test FILE is required (a CSV with text and intent columns)");
    }
    auto test = nlu::read_labeled_csv(*test_path);

    // Train from --train, or load --model.
    std::unique_ptr<nlu::IntentModel> model;
    double train_seconds = 0;
    if (auto train_path = args.get("train")) {
        auto train = nlu::read_labeled_csv(*train_path);
        std::cerr << "Training on " << train.size() << " examples from " << *train_path << "\n";
        nlu::TrainOptions options;
        options.progress = print_train_progress;
        if (auto epochs = args.get("epochs")) {
            options.epochs = std::stoi(*epochs);
        }
        auto start = std::chrono::steady_clock::now();
        model = nlu::IntentModel::train(train, options);
        train_seconds = seconds_since(start);
    } else if (auto model_path = args.get("model")) {
        auto loaded = nlu::IntentModel::load(*model_path);
        if (!loaded) {
            throw Error("cannot load model " + *model_path + ": " + loaded.error().message());
        }
        model = std::move(*loaded);
    } else {
        throw Error("give --train FILE (train, then evaluate) or --model FILE");
    }

    nlu::EvalReport report = nlu::evaluate(*model, test);
    std::cout << std::fixed << std::setprecision(2);
    std::cout << "test examples   " << report.total << "\n";
    std::cout << "accuracy        " << 100.0 * report.accuracy << " %\n";
    std::cout << "macro-F1        " << 100.0 * report.macro_f1 << " %\n";
    if (train_seconds > 0) {
        std::cout << "training time   " << std::setprecision(1) << train_seconds << " s\n";
    }
    if (args.has("per-intent")) {
        std::cout << "\n"
                  << std::left << std::setw(40) << "intent"
                  << " precision  recall  f1  "
                  << "support\n";
        for (const auto& p : report.per_intent) {
            std::cout << std::left << std::setw(40) << p.intent << std::setprecision(3) << " "
                      << p.precision << "      " << p.recall << "   " << p.f1 << "  " << p.support
                      << "\n";
        }
    }
    std::cout << "\nworst confusions (expected -> predicted: count)\n";
    std::size_t shown = 0;
    for (const auto& [expected, predicted, count] : report.worst_confusions) {
        if (shown++ == 10) {
            break;
        }
        std::cout << "  " << expected << " -> " << predicted << ": " << count << "\n";
    }
    // TODO(teller): no HTML report with a confusion-matrix heat map yet; `teller eval` prints
    // text only.
    return 0;
}

int kafka_dev_main(const Args& args) {
    core::Config config = load_config(args);
    int brokers = 1;
    if (auto n = args.get("brokers")) {
        brokers = std::stoi(*n);
        if (brokers < 1 || brokers > 9) {
            throw Error("--brokers must be between 1 and 9");
        }
    }
    block_stop_signals();
    core::MockCluster cluster(brokers);
    for (std::string_view topic :
         {core::kInboundTopic, core::kOutboundTopic, core::kEventsTopic, core::kDlqTopic}) {
        cluster.create_topic(std::string(topic), config.inbound_partitions);
    }
    std::string address = cluster.bootstrap_servers();
    if (auto file = args.get("address-file")) {
        std::ofstream(*file) << address << "\n";
    }
    std::cout << "Kafka mock cluster at " << address << " with Teller's topics ("
              << config.inbound_partitions << " partitions each).\n"
              << "  export TELLER_KAFKA_BROKERS=" << address << "\n"
              << "  teller engine ... & teller gateway --port 8080 ..." << std::endl;
    // TODO(teller): librdkafka 2.0.2's mock brokers listen on ephemeral ports only, so the
    // address changes at every start; a fixed-port bootstrap would need a small TCP relay.
    return run_until_signal("The Kafka mock cluster");
}

const std::vector<Command>& commands() {
    static const std::vector<Command> all = {
        {{"run",
          "Run the bot: gateway (web chat on http://127.0.0.1:8080) and engine in one process",
          "With no Kafka brokers configured, an in-process librdkafka mock cluster is started and\n"
          "its address printed; with no Redis URL, sessions stay in memory.\n\n" +
              environment_help(),
          join({config_flags(), kafka_flags(), engine_flags(), gateway_flags()})},
         run_main},
        {{"engine", "Run only the dialogue engine (consumes teller.inbound)",
          "Engines sharing a consumer group split the conversations between them.\n\n" +
              environment_help(),
          join({config_flags(), kafka_flags(), engine_flags()})},
         engine_main},
        {{"gateway", "Run only the gateway (web chat and channel endpoints)",
          "Publishes to teller.inbound and delivers the replies addressed to this instance.\n\n" +
              environment_help(),
          join({config_flags(), kafka_flags(), gateway_flags()})},
         gateway_main},
        {{"train", "Train the intent model from the loaded skills' examples",
          "Writes one model file: weights, hashing settings, labels and a fingerprint of the\n"
          "training data, which `teller run` checks against the skills it loads.",
          join({config_flags(),
                {{"output", "FILE", "where to write the model (default: the configured model)"},
                 {"epochs", "N", "training epochs (default: the tuned value)"},
                 {"skill", "FILE", "skill plugin to learn from (default: all)", true},
                 {"skills-dir", "DIR", "folder of skill plugins"},
                 {"backend-data", "FILE", "demo bank data"}}})},
         train_main},
        {{"eval", "Train and evaluate an intent model on labelled CSV files",
          "Example: teller eval --train ../shared/data/banking77/train.csv \\\n"
          "                     --test ../shared/data/banking77/test.csv\n"
          "CSV files need a header with `text` and an intent column (category, intent or\n"
          "label_text).",
          join({config_flags(),
                {{"train", "FILE", "training CSV (trains with the same trainer as teller train)"},
                 {"model", "FILE", "evaluate this model instead of training one"},
                 {"test", "FILE", "test CSV"},
                 {"epochs", "N", "training epochs (default: the tuned value)"},
                 {"per-intent", "", "print precision, recall and F1 per intent"}}})},
         eval_main},
        {{"kafka-dev", "Run librdkafka's mock Kafka cluster for local multi-process setups",
          "Creates Teller's topics and prints the bootstrap address for teller engine and\n"
          "teller gateway (--kafka-brokers or TELLER_KAFKA_BROKERS). Data lives in memory.",
          join({config_flags(),
                {{"brokers", "N", "mock brokers (default 1)"},
                 {"address-file", "FILE", "also write the bootstrap address to FILE"}}})},
         kafka_dev_main},
        {{"record", "Copy Kafka topics' records to a JSONL recording (for teller replay)",
          "Example: teller record --kafka-brokers 127.0.0.1:9092 --topic teller.inbound \\\n"
          "           --topic teller.outbound --topic teller.events --until-end \\\n"
          "           --output last-month.jsonl\n"
          "Reads every partition by assignment without committing, so consumer groups are left\n"
          "as they were. One JSON object per line: topic, partition, offset, key, headers,\n"
          "timestamp (ms) and value (value_base64 when it is not UTF-8). Progress on stderr.",
          record_flags()},
         record_main},
        {{"replay", "Replay a recording through this build's engine and diff the replies",
          "Runs the recording's teller.inbound records in order through the engine (in-process,\n"
          "in-memory sessions, each turn's clock set to its record's timestamp) with the loaded\n"
          "skills and model, and compares the replies and events per conversation and turn with\n"
          "the recording's teller.outbound and teller.events records (or --golden's).\n"
          "Not compared: created_at, at, trace_id, reply_to, and every --ignore field.\n"
          "Exit status: 0 when nothing changed, 1 when some turn changed.",
          replay_flags()},
         replay_main},
    };
    return all;
}

}  // namespace teller::app
