// The provider channels a gateway runs: adapters built from the configuration, one HTTP client
// per provider, and the delivery loop that sends the engine's replies through them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "teller/channels/channel_adapter.hpp"
#include "teller/channels/gateway.hpp"
#include "teller/channels/http_provider_client.hpp"
#include "teller/channels/provider_delivery.hpp"
#include "teller/core/config.hpp"
#include "teller/core/kafka.hpp"

namespace teller::app {

/// One enabled provider channel.
struct ProviderChannel {
    std::string name;
    std::shared_ptr<channels::ChannelAdapter> adapter;
    std::unique_ptr<channels::HttpProviderClient> client;
    std::string public_base_url;  ///< the channel's `public_base_url`, "" for the gateway's
};

/// Builds every enabled channel of `config` through its adapter factory, with `store` as the
/// adapters' shared state. Throws core::Error prefixed "channel <name>: " when an adapter or
/// its client refuses its settings (a missing token, a bad base_url).
std::vector<ProviderChannel> build_provider_channels(const core::Config& config,
                                                     core::SessionStore& store);

/// HttpProviderOptions from a channel's settings: base_url (default: the provider's host),
/// timeout_ms, max_attempts, rate_per_second, ca_file.
channels::HttpProviderOptions provider_options(const std::string& channel,
                                               const channels::ChannelSettings& settings);

/// The delivery side of the channels: a consumer in channels::kDeliveryGroup and the loop.
struct ProviderDeliveryParts {
    std::unique_ptr<core::KafkaConsumer> consumer;
    std::unique_ptr<channels::ProviderDelivery> delivery;

    void stop() {
        if (delivery) {
            delivery->stop();
        }
    }
};

/// Starts delivering `channels`' replies from teller.outbound through `producer` (error events
/// and DLQ records) with `store` for deduplication. Nothing is started when `channels` is
/// empty.
ProviderDeliveryParts start_provider_delivery(std::vector<ProviderChannel>& channels,
                                              const std::string& brokers, core::Producer& producer,
                                              core::SessionStore& store);

/// Lines for --help: the channel settings, as YAML keys and environment variables.
std::string channel_settings_help();

}  // namespace teller::app
