// The teller subcommands: run (gateway + engine in one process), engine, gateway, kafka-dev.
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
#include <random>
#include <thread>

#include <boost/json.hpp>

#include "bot_setup.hpp"
#include "channel_setup.hpp"
#include "faq_commands.hpp"
#include "tcp_relay.hpp"
#include "teller/channels/agent_desk.hpp"
#include "teller/channels/gateway.hpp"
#include "teller/channels/outbound_dispatcher.hpp"
#include "teller/core/backend.hpp"
#include "teller/core/config.hpp"
#include "teller/core/engine.hpp"
#include "teller/core/handoff_relay.hpp"
#include "teller/core/kafka.hpp"
#include "teller/core/log.hpp"
#include "teller/core/notifications.hpp"
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

// The gateway alone keeps channel state (SMS opt-outs, webhook dedupe) in the session store.
std::vector<FlagSpec> gateway_store_flags() {
    return {{"redis-url", "URL",
             "Redis for channel state and webhook dedupe (default: in-memory store)"}};
}

std::string environment_help() {
    std::string text = "Environment (overrides the configuration file; flags override both):\n";
    for (const auto& [name, description] : core::config_environment_variables()) {
        text += "  " + name + std::string(name.size() < 28 ? 28 - name.size() : 1, ' ') +
                description + "\n";
    }
    return text + "\n" + channel_settings_help();
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
                             std::string(core::kEventsTopic), std::string(core::kDlqTopic),
                             std::string(core::kCrmTopic), std::string(core::kHandoffTopic),
                             std::string(core::kAgentTopic)},
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
    std::unique_ptr<core::IntentClassifier> model;
    std::unique_ptr<nlg::Nlg> nlg;  // templates and FAQ answers; nullptr: built-in replies
    std::unique_ptr<core::SessionStore> store;
    std::unique_ptr<core::KafkaProducer> producer;
    std::unique_ptr<core::KafkaConsumer> consumer;
    std::unique_ptr<core::Engine> engine;
    std::jthread thread;
    // Proactive CRM notifications (teller.crm) to each customer's last channel.
    std::unique_ptr<core::KafkaConsumer> crm_consumer;
    std::unique_ptr<core::NotificationRelay> relay;
    // Agents' commands (teller.agent) applied to handed-off conversations.
    std::unique_ptr<core::DialogueManager> handoff_dialogue;
    std::unique_ptr<core::KafkaConsumer> agent_consumer;
    std::unique_ptr<core::HandoffRelay> handoff_relay;

    void stop() {
        if (relay) {
            relay->stop();
        }
        if (handoff_relay) {
            handoff_relay->stop();
        }
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
    parts->nlg = load_nlg(config, parts->skills.host.get());
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
    options.dialogue.require_verification = config.require_verification;
    options.dialogue.survey = config.survey;
    options.dialogue.responder = parts.nlg.get();
    options.session_ttl = std::chrono::seconds(config.session_ttl_seconds);
    parts.engine = std::make_unique<core::Engine>(*parts.consumer, *parts.producer, *parts.store,
                                                  *parts.model, *parts.skills.host, options);
    parts.thread =
        std::jthread([engine = parts.engine.get()](std::stop_token stop) { engine->run(stop); });
    log().info("engine started", {{"group", config.engine_group}});

    parts.crm_consumer = std::make_unique<core::KafkaConsumer>(
        kafka_config(brokers, "teller-notifications"), std::string(core::kNotificationGroup),
        std::vector<std::string>{std::string(core::kCrmTopic)});
    parts.relay = std::make_unique<core::NotificationRelay>(*parts.crm_consumer, *parts.producer,
                                                            *parts.store);
    parts.relay->start();
    log().info("notification relay started", {{"topic", core::kCrmTopic}});

    parts.handoff_dialogue =
        std::make_unique<core::DialogueManager>(*parts.skills.host, options.dialogue);
    parts.agent_consumer = std::make_unique<core::KafkaConsumer>(
        kafka_config(brokers, "teller-handoff"), std::string(core::kHandoffRelayGroup),
        std::vector<std::string>{std::string(core::kAgentTopic)});
    core::HandoffRelayOptions handoff_options;
    handoff_options.session_ttl = options.session_ttl;
    parts.handoff_relay =
        std::make_unique<core::HandoffRelay>(*parts.agent_consumer, *parts.producer, *parts.store,
                                             *parts.handoff_dialogue, handoff_options);
    parts.handoff_relay->start();
    log().info("handoff relay started",
               {{"topic", core::kAgentTopic}, {"group", core::kHandoffRelayGroup}});
}

// The gateway: HTTP/WebSocket server, its producer, the outbound dispatcher (web chat) and the
// provider channels with their delivery loop.
struct GatewayParts {
    std::unique_ptr<core::SessionStore> own_store;  ///< gateway alone; `run` shares the engine's
    core::SessionStore* store = nullptr;
    std::vector<ProviderChannel> provider_channels;
    std::unique_ptr<core::KafkaProducer> producer;
    // The agent desk (teller.handoff in, teller.agent out); declared before the gateway, whose
    // desk sockets use it until they are destroyed.
    std::unique_ptr<core::KafkaConsumer> desk_consumer;
    std::unique_ptr<channels::AgentDesk> desk;
    std::unique_ptr<channels::Gateway> gateway;
    std::unique_ptr<core::KafkaConsumer> outbound;
    std::unique_ptr<channels::OutboundDispatcher> dispatcher;
    ProviderDeliveryParts delivery;

    void stop() {
        if (gateway) {
            gateway->stop();
        }
        if (desk) {
            desk->stop();
        }
        if (dispatcher) {
            dispatcher->stop();
        }
        delivery.stop();
        if (producer) {
            producer->flush(std::chrono::seconds(5));
        }
    }
};

// The enabled provider channels, built before Kafka is touched so that a missing token fails
// fast. `store` (null: open the configured one) keeps the channels' shared state.
std::unique_ptr<GatewayParts> prepare_gateway(const core::Config& config,
                                              core::SessionStore* store) {
    auto parts = std::make_unique<GatewayParts>();
    if (core::enabled_channels(config).empty()) {
        return parts;
    }
    if (store == nullptr) {
        parts->own_store = open_store(config);
        store = parts->own_store.get();
    }
    parts->store = store;
    parts->provider_channels = build_provider_channels(config, *store);
    return parts;
}

// `ready` backs /readyz; empty means ready once listening.
// A random secret for the demo sign-in of the embedded first run (hex of 32 bytes).
std::string random_secret() {
    std::random_device device;
    std::string hex;
    for (int i = 0; i < 16; ++i) {
        char buffer[5];
        std::snprintf(buffer, sizeof buffer, "%04x", static_cast<unsigned>(device() & 0xffff));
        hex += buffer;
    }
    return hex;
}

void start_gateway(GatewayParts& gateway_parts, const core::Config& config,
                   const std::string& brokers, std::function<bool()> ready = {},
                   const std::string& demo_customer = {}) {
    GatewayParts* parts = &gateway_parts;
    parts->producer =
        std::make_unique<core::KafkaProducer>(kafka_config(brokers, "teller-gateway"));

    channels::GatewayOptions options;
    options.host = config.http_host;
    options.port = config.http_port;
    options.instance_id = config.instance_id;
    options.public_base_url = config.public_base_url;
    options.max_in_flight = static_cast<std::size_t>(config.max_in_flight);
    options.conversation_rate = config.conversation_rate;
    options.conversation_burst = config.conversation_burst;
    options.webchat_token_secret = config.webchat_token_secret;
    if (!demo_customer.empty() && options.webchat_token_secret.empty()) {
        // The embedded first run on the demo bank: the built-in page signs its visitor in as
        // the demo customer, so card and balance requests can be tried from a browser.
        options.webchat_token_secret = random_secret();
        options.demo_customer_id = demo_customer;
        std::cout << "Web chat: demo sign-in as customer " << demo_customer
                  << " (demo bank only; set TELLER_WEBCHAT_TOKEN_SECRET to require real tokens)"
                  << std::endl;
    }
    // The agent desk is on with a configured token; the embedded run (no brokers configured, so
    // the in-process mock cluster) makes one up and prints the desk's address with it below.
    options.agent_token = config.agent_token;
    const bool desk_token_made_up = options.agent_token.empty() && config.kafka_brokers.empty();
    if (desk_token_made_up) {
        options.agent_token = random_secret();
    }
    parts->gateway = std::make_unique<channels::Gateway>(options, *parts->producer);
    if (ready) {
        parts->gateway->set_readiness(std::move(ready));
    }
    if (!parts->provider_channels.empty()) {
        parts->gateway->set_channel_context(channels::ChannelContext{parts->store});
        for (const ProviderChannel& channel : parts->provider_channels) {
            parts->gateway->add_channel(channel.adapter, channel.public_base_url);
        }
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

    // The desk reads teller.handoff from its beginning in a group of its own and never commits,
    // so every start rebuilds the conversations still open.
    // TODO(teller): the rebuild reads the whole topic, so start-up time and the replay grow
    // with teller.handoff's retention; compaction by conversation, or a snapshot of the open
    // conversations, would bound it.
    if (!options.agent_token.empty()) {
        core::KafkaConfig desk_config = kafka_config(brokers, "teller-desk");
        desk_config.properties["auto.offset.reset"] = "earliest";
        parts->desk_consumer = std::make_unique<core::KafkaConsumer>(
            desk_config, "teller-desk-" + id,
            std::vector<std::string>{std::string(core::kHandoffTopic)});
        parts->desk =
            std::make_unique<channels::AgentDesk>(*parts->desk_consumer, *parts->producer);
        parts->gateway->set_agent_desk(*parts->desk);
        parts->desk->start();
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (parts->outbound->assignment().empty()) {
        if (std::chrono::steady_clock::now() > deadline) {
            throw Error("the gateway's consumer of " + std::string(core::kOutboundTopic) +
                            " got no partitions within 30 s from " + brokers,
                        true);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    // Replies for provider channels: one delivery group shared by every gateway.
    parts->delivery =
        start_provider_delivery(parts->provider_channels, brokers, *parts->producer, *parts->store);

    std::uint16_t port = parts->gateway->start();
    std::string host =
        config.http_host == "0.0.0.0" || config.http_host == "::" ? "127.0.0.1" : config.http_host;
    std::cout << "Gateway " << id << " listening on http://" << host << ":" << port
              << "  (web chat page; WebSocket ws://" << host << ":" << port << "/ws)" << std::endl;
    const std::string own_url = "http://" + host + ":" + std::to_string(port);
    if (parts->desk) {
        std::cout << "Agent desk: " << own_url << "/agent"
                  << (desk_token_made_up ? "#token=" + options.agent_token
                                         : std::string("  (sign in with agent_token)"))
                  << std::endl;
    }
    for (const ProviderChannel& channel : parts->provider_channels) {
        std::string base = channel.public_base_url.empty() ? own_url : channel.public_base_url;
        while (base.ends_with("/")) {
            base.pop_back();
        }
        std::cout << "Channel " << channel.name << ": webhook " << base << channel.adapter->path()
                  << "  (provider API " << channel.client->options().base_url << ")" << std::endl;
    }
    if (parts->provider_channels.empty()) {
        std::cout << "Channels: web chat only (configure channels.<name> or TELLER_<NAME>_* for "
                     "SMS, Telegram, WhatsApp, WeChat)"
                  << std::endl;
    }
}

int run_until_signal(const char* what) {
    std::cout << what << " is running. Press Ctrl-C to stop." << std::endl;
    int signal = wait_for_signal();
    std::cout << "Received " << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping..."
              << std::endl;
    return 0;
}

}  // namespace

int run_main(const Args& args) {
    core::Config config = load_config(args);
    block_stop_signals();
    Kafka kafka;  // declared first so the mock cluster outlives every client of it
    auto engine = prepare_engine(config);
    core::SessionStore* store = engine->store.get();
    auto gateway = prepare_gateway(config, store);
    kafka = start_kafka(config);
    start_engine(*engine, config, kafka.brokers);
    // Ready while the session store answers: without it no message can be answered.
    // On the demo bank with no token secret configured, the page signs visitors in as the
    // demo bank's customer; with a real backend or a secret, customers need real tokens.
    std::string demo_customer = config.backend_url.empty() && config.webchat_token_secret.empty()
                                    ? std::string("demo-1")
                                    : std::string();
    start_gateway(
        *gateway, config, kafka.brokers,
        [store] { return store->load("teller:readyz").has_value(); }, demo_customer);
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
    Kafka kafka;  // declared first so it outlives the gateway's clients
    auto gateway = prepare_gateway(config, nullptr);
    kafka = start_kafka(config);
    start_gateway(*gateway, config, kafka.brokers);
    int status = run_until_signal("The gateway");
    gateway->stop();
    return status;
}

int kafka_dev_main(const Args& args) {
    core::Config config = load_config(args);
    const int brokers = args.get_int("brokers", 1, 1, 9);
    int port = 9092;
    if (auto p = args.get("port")) {
        char* end = nullptr;
        long value = std::strtol(p->c_str(), &end, 10);
        if (p->empty() || *end != '\0' || value < 0 || value > 65535) {
            throw Error("--port must be a TCP port (0 picks a free one)");
        }
        port = static_cast<int>(value);
    }
    block_stop_signals();
    core::MockCluster cluster(brokers);
    for (std::string_view topic :
         {core::kInboundTopic, core::kOutboundTopic, core::kEventsTopic, core::kDlqTopic,
          core::kCrmTopic, core::kHandoffTopic, core::kAgentTopic}) {
        cluster.create_topic(std::string(topic), config.inbound_partitions);
    }

    // librdkafka 2.0.2's mock brokers listen on ephemeral ports; a relay on the fixed port leads
    // clients to the first broker, whose metadata then names every broker's real (loopback)
    // address.
    const std::string brokers_at = cluster.bootstrap_servers();
    const std::string first = brokers_at.substr(0, brokers_at.find(','));
    const auto colon = first.rfind(':');
    TcpRelay relay("127.0.0.1", static_cast<std::uint16_t>(port), first.substr(0, colon),
                   static_cast<std::uint16_t>(std::stoi(first.substr(colon + 1))));
    const std::string address = "127.0.0.1:" + std::to_string(relay.port());
    if (auto file = args.get("address-file")) {
        std::ofstream(*file) << address << "\n";
    }
    std::cout << "Kafka mock cluster at " << address << " (brokers " << brokers_at
              << ") with Teller's topics (" << config.inbound_partitions << " partitions each).\n"
              << "  export TELLER_KAFKA_BROKERS=" << address << "\n"
              << "  teller engine ... & teller gateway --port 8080 ..." << std::endl;
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
          join({config_flags(), kafka_flags(), gateway_store_flags(), gateway_flags()})},
         gateway_main},
        train_command(),
        faq_train_command(),
        eval_command(),
        validate_data_command(),
        {{"kafka-dev", "Run librdkafka's mock Kafka cluster for local multi-process setups",
          "Creates Teller's topics and prints the bootstrap address for teller engine and\n"
          "teller gateway (--kafka-brokers or TELLER_KAFKA_BROKERS). Data lives in memory.\n"
          "The bootstrap address is fixed (127.0.0.1:9092 unless --port says otherwise): a\n"
          "relay there leads clients to the mock brokers, which listen on loopback ports the\n"
          "clients learn from the cluster's metadata.",
          join({config_flags(),
                {{"port", "PORT", "loopback bootstrap port (default 9092; 0 picks a free one)"},
                 {"brokers", "N", "mock brokers (default 1)"},
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
