#pragma once
// The client API's Cap'n Proto server for one authenticated connection: each method decodes
// its parameters, forwards them with the connection's caller to the coordinator_backend (which
// decides what that caller may do), and completes from the backend's callback. No logic here.
#include <memory>

#include "core/coordinator_api.hpp"
#include "protocol/gantry.capnp.h"
#include "protocol/kj_bridge.hpp"

namespace gantry {

class coordinator_service final : public wire::Coordinator::Server {
 public:
  // REQUIRES: constructed on the KJ thread that `mailbox` belongs to.
  coordinator_service(coordinator_backend& backend, std::shared_ptr<kj_mailbox> mailbox,
                      caller who);

 protected:
  kj::Promise<void> hello(HelloContext context) override;
  kj::Promise<void> submit(SubmitContext context) override;
  kj::Promise<void> listJobs(ListJobsContext context) override;
  kj::Promise<void> describeJob(DescribeJobContext context) override;
  kj::Promise<void> listNodes(ListNodesContext context) override;
  kj::Promise<void> cancel(CancelContext context) override;
  kj::Promise<void> watch(WatchContext context) override;
  kj::Promise<void> readLogs(ReadLogsContext context) override;
  kj::Promise<void> waitNode(WaitNodeContext context) override;
  kj::Promise<void> setNodeState(SetNodeStateContext context) override;
  kj::Promise<void> removeNode(RemoveNodeContext context) override;
  kj::Promise<void> createToken(CreateTokenContext context) override;
  kj::Promise<void> listTokens(ListTokensContext context) override;
  kj::Promise<void> revokeToken(RevokeTokenContext context) override;
  kj::Promise<void> whoami(WhoamiContext context) override;
  kj::Promise<void> setQueue(SetQueueContext context) override;
  kj::Promise<void> deleteQueue(DeleteQueueContext context) override;
  kj::Promise<void> listQueues(ListQueuesContext context) override;

 private:
  coordinator_backend& backend_;
  std::shared_ptr<kj_mailbox> mailbox_;
  caller who_;
};

}  // namespace gantry
