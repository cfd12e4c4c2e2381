#include "examples/allreduce/gantry_rendezvous.hpp"

#include "core/coordinator_api.hpp"
#include "protocol/client.hpp"

namespace gantry::example {
namespace {

class gantry_rendezvous final : public rendezvous {
 public:
  gantry_rendezvous(std::unique_ptr<client> c, rendezvous_scope scope)
      : client_(std::move(c)), scope_(std::move(scope)) {}

  outcome<void> put(const std::string& key, const std::string& value) override {
    auto r = client_->rendezvous_put(scope_, key, value);
    if (!r)
      return failure("rendezvous: put \"" + key + "\" at " + where() + ": " + r.error().message);
    return {};
  }

  outcome<std::string> get(const std::string& key, uint32_t timeout_ms) override {
    auto r = client_->rendezvous_get(scope_, key, timeout_ms);
    if (r) return *r;
    if (r.error().code == errc::timeout)
      return failure("rendezvous: nobody put \"" + key + "\" within " + std::to_string(timeout_ms) +
                     " ms (" + where() + ")");
    return failure("rendezvous: get \"" + key + "\" at " + where() + ": " + r.error().message);
  }

 private:
  std::string where() const {
    return client_->address() + "/" + scope_.job_id + "/" + scope_.stage + "/" +
           std::to_string(scope_.attempt);
  }

  std::unique_ptr<client> client_;
  rendezvous_scope scope_;
};

}  // namespace

outcome<std::unique_ptr<rendezvous>> connect_gantry_rendezvous(const std::string& text) {
  auto parsed = parse_rendezvous(text);
  if (!parsed) return failure(parsed.error().message, kExitUsage);
  auto c = client::connect(parsed->first, task_credentials_from_env());
  if (!c) return failure("rendezvous: " + c.error().message);
  return std::make_unique<gantry_rendezvous>(std::move(*c), std::move(parsed->second));
}

}  // namespace gantry::example
