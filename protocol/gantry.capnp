@0xaae3ee60071db5ca;
# gantry's wire protocol: the client API (Coordinator), the worker API (WorkerGate,
# WorkerSession), the worker's NodeAgent that the coordinator calls back, the join of a new
# node (Join) and a task's rendezvous (Rendezvous).
#
# A connection is TLS, then one hello frame that presents a credential (protocol/auth_frame.hpp),
# and only then Cap'n Proto. The bootstrap capability depends on the credential: a user or
# admin token gets Coordinator, the join token Join, a node credential WorkerGate, a task
# credential Rendezvous (docs/security.md).
#
# Versioning: `protocolVersion` is exchanged in the hello frame (and in `hello` and
# `registerWorker`). Within a major version fields and methods are only added (new ordinals),
# never renumbered or retyped; a peer with another major version is refused with
# Status.Code.versionMismatch.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("gantry::wire");

const protocolVersion :UInt32 = 3;

struct Status {
  code @0 :Code;
  message @1 :Text;
  enum Code {
    ok @0;
    invalidArgument @1;
    notFound @2;
    alreadyExists @3;
    unavailable @4;
    ioError @5;
    timeout @6;
    internal @7;
    versionMismatch @8;
    failedPrecondition @9;
    unauthenticated @10;     # no credential, or one unknown, revoked or expired
    permissionDenied @11;    # a known caller that may not do this
  }
}

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

# A manifest error: `path` like "stages[1].resources.gpu", `message` what was expected.
struct FieldError {
  path @0 :Text;
  message @1 :Text;
}

struct GpuInfo {
  index @0 :Int32;
  model @1 :Text;
  memoryBytes @2 :Int64;
  nvlinkGroup @3 :Int32;
  numaNode @4 :Int32;
  uuid @5 :Text;
  simulated @6 :Bool;
  allocatedMilli @7 :Int32;   # in NodeInfo: share of this GPU reserved by tasks
}

struct DpuInfo {
  index @0 :Int32;
  model @1 :Text;
  simulated @2 :Bool;
}

struct Inventory {
  name @0 :Text;
  hostname @1 :Text;
  cpuMilli @2 :Int64;
  memoryBytes @3 :Int64;
  gpus @4 :List(GpuInfo);
  dpus @5 :List(DpuInfo);
  fabrics @6 :List(Text);
  labels @7 :List(KeyValue);
  gpuSharing @8 :Text;         # mps | time-sliced (empty from older workers: time-sliced)
  isolation @9 :Text;          # none | v1 | v2: how the worker isolates tasks (cgroups)
}

struct NodeInfo {
  inventory @0 :Inventory;
  state @1 :Text;              # ready | lost | cordoned | draining | unknown
  allocatedCpuMilli @2 :Int64;
  allocatedMemoryBytes @3 :Int64;
  tasks @4 :UInt32;            # tasks running there
  lastSeenMsAgo @5 :Int64;     # since the last heartbeat; -1 never
  reason @6 :Text;
}

struct JobSummary {
  id @0 :Text;
  name @1 :Text;
  state @2 :Text;              # pending | running | succeeded | failed | cancelled
  priority @3 :Int32;
  restarts @4 :Int32;
  submittedMs @5 :Int64;
  finishedMs @6 :Int64;
  reason @7 :Text;             # the job's own: why it failed, "cancel requested"
  pendingReason @8 :Text;      # an unfinished job's first pending stage: "STAGE: why it waits"
  owner @9 :Text;              # the user who submitted it
  queue @10 :Text;             # the queue it is admitted through
}

struct RankInfo {
  rank @0 :Int32;
  state @1 :Text;
  node @2 :Text;
  pid @3 :Int64;
  attempt @4 :Int32;
  gpus @5 :List(Int32);
  gpuMilli @6 :Int32;
  exitCode @7 :Int32;
  reason @8 :Text;
  taskId @9 :Text;
  usage @10 :TaskUsage;        # of the last run that ended
}

# What one run of a task used (measured by its worker's cgroup); -1 not measured.
struct TaskUsage {
  peakMemoryBytes @0 :Int64 = -1;
  cpuUsec @1 :Int64 = -1;
  wallMs @2 :Int64 = -1;
}

struct StageInfo {
  name @0 :Text;
  state @1 :Text;
  reason @2 :Text;
  checkpointStep @3 :Int64;
  restarts @4 :Int32;
  ranks @5 :List(RankInfo);
  device @6 :Text;
  after @7 :List(Text);
}

struct JobDetail {
  summary @0 :JobSummary;
  stages @1 :List(StageInfo);
  lastEventSeq @2 :UInt64;
}

struct JobEvent {
  jobId @0 :Text;
  seq @1 :UInt64;
  timeMs @2 :Int64;
  kind @3 :Kind;
  stage @4 :Text;
  rank @5 :Int32;
  state @6 :Text;
  node @7 :Text;
  pid @8 :Int64;
  exitCode @9 :Int32;
  attempt @10 :Int32;
  message @11 :Text;
  usage @12 :TaskUsage;        # rank events of an ended run
  enum Kind {
    job @0;
    stage @1;
    rank @2;
  }
}

# One launch, described (core/launch.hpp). The worker builds the task's environment from it
# and what only the worker knows (core/task_environment.hpp).
struct TaskSpec {
  taskId @0 :Text;
  jobId @1 :Text;
  stage @2 :Text;
  rank @3 :Int32;
  attempt @4 :Int32;
  command @5 :List(Text);
  env @6 :List(KeyValue);      # the stage's own `env`; the worker builds the rest
  gpus @7 :List(Int32);        # GPU indices on the node, in the task's CUDA ordinal order
  checkpointDir @8 :Text;
  jobName @9 :Text;
  worldSize @10 :Int32;
  workingDir @11 :Text;        # absolute; empty: the task's own directory
  cpuMilli @12 :Int64;
  gpuMilli @13 :Int32;         # share of each GPU (1000 = whole)
  gpuMemoryBytes @14 :Int64;   # reserved on each GPU
  fabric @15 :Text;
  restoreStep @16 :Int64 = -1; # newest consistent checkpoint step; -1 none
  gang @17 :Gang;              # collective stages only
  taskToken @18 :Text;         # GANTRY_TASK_TOKEN: this attempt's credential for its rendezvous
  memoryBytes @19 :Int64;      # the task's memory limit
  owner @20 :Text;             # the job's owner: the worker maps it to a Unix user
  timeLimitMs @21 :Int64;      # wall clock per attempt; 0 none

  # torchrun's view of one rank of a gang.
  struct Gang {
    localRank @0 :Int32;
    localWorldSize @1 :Int32;
    groupRank @2 :Int32;
    groupWorldSize @3 :Int32;
    masterAddr @4 :Text;
    masterPort @5 :Int32;
    maxRestarts @6 :Int32;
    rendezvous @7 :RendezvousScope;
  }
}

# What a worker knows about one of its tasks: sent at registration (so a restarted
# coordinator can adopt running tasks and settle ended ones) and on every exit.
struct TaskReport {
  taskId @0 :Text;
  pid @1 :Int64;
  running @2 :Bool;
  exitCode @3 :Int32;          # when not running: exit status, or 128+signal
  message @4 :Text;            # e.g. "killed by signal 9"
  usage @5 :TaskUsage;         # when not running
  timeLimitExceeded @6 :Bool;  # stopped by its time limit
}

# The client API, bound to the user (and role) of the connection's token.
interface Coordinator {
  hello @0 (clientVersion :UInt32) -> (serverVersion :UInt32, status :Status);

  # Validates and durably stores a job; returns only after the write is synced. Unless
  # `allowUnschedulable`, a stage that no known node could ever host is refused with errors.
  submit @1 (manifest :Text, sourceName :Text, allowUnschedulable :Bool)
      -> (status :Status, jobId :Text, errors :List(FieldError));
  # Jobs in submission order (oldest first), every job for an admin, its own for a user.
  # Empty `state` / `name` and `limit` 0 select every job; otherwise only jobs in that state,
  # with that name, and the newest `limit`.
  listJobs @2 (state :Text, name :Text, limit :UInt32) -> (jobs :List(JobSummary));
  describeJob @3 (jobId :Text) -> (status :Status, job :JobDetail);
  listNodes @4 () -> (nodes :List(NodeInfo));
  cancel @5 (jobId :Text) -> (status :Status);

  # Streams the job's events with seq >= fromSeq to `watcher`, in order, first the stored
  # ones then live ones, until the job ends or `subscription` is dropped.
  # `state` and `lastSeq` are the job's at subscription time: a terminal job with
  # lastSeq < fromSeq has nothing more to send.
  watch @6 (jobId :Text, fromSeq :UInt64, watcher :JobWatcher)
      -> (status :Status, subscription :Subscription, state :Text, lastSeq :UInt64);

  # Reads one rank's output (stdout and stderr, one file per attempt) from the worker that
  # ran it: `attempt` -1 is the rank's current (or last) attempt.
  readLogs @7 (jobId :Text, stage :Text, rank :Int32, offset :UInt64, maxBytes :UInt32,
               attempt :Int32 = -1)
      -> (status :Status, data :Data, nextOffset :UInt64, finished :Bool);

  # Completes when node `name` is in `state` (ready, lost, ...) or after timeoutMs.
  waitNode @8 (name :Text, state :Text, timeoutMs :UInt32) -> (status :Status, node :NodeInfo);

  # Admin only.
  setNodeState @9 (name :Text, action :NodeAction) -> (status :Status);
  enum NodeAction {
    cordon @0;
    uncordon @1;
    drain @2;
  }
  # Admin only: revokes the node's credential (closing its connection; the node is lost).
  removeNode @10 (name :Text) -> (status :Status);

  # Admin only. `token` is handed out once; only its hash is kept. ttlMs 0: no expiry.
  createToken @11 (user :Text, role :Text, ttlMs :Int64) -> (status :Status, token :Text);
  listTokens @12 () -> (status :Status, tokens :List(TokenInfo));
  revokeToken @13 (id :Text) -> (status :Status);

  # Who this connection is (the token's user and role).
  whoami @14 () -> (user :Text, role :Text);

  # Admin only: creates (`create`) or updates queue `name`. Quotas as "gpu=8,cpu=64,memory=512GiB"
  # or "none"; an update leaves the fields not given (empty text, weight 0) as they are.
  setQueue @15 (name :Text, create :Bool, guarantee :Text, limit :Text, weight :Float64)
      -> (status :Status);
  # Admin only: refused for `default` and while the queue holds unfinished jobs.
  deleteQueue @16 (name :Text) -> (status :Status);
  # Every queue, by name.
  listQueues @17 () -> (status :Status, queues :List(QueueInfo));
}

# CPU in millicores, memory in bytes, GPU share in milli-GPU; -1: unlimited (limits only).
struct QueueQuota {
  cpuMilli @0 :Int64;
  memoryBytes @1 :Int64;
  gpuMilli @2 :Int64;
}

struct QueueInfo {
  name @0 :Text;
  guarantee @1 :QueueQuota;
  limit @2 :QueueQuota;
  weight @3 :Float64;
  usage @4 :QueueQuota;        # held by its running work
  borrowed @5 :QueueQuota;     # of that, beyond its guarantee
  pendingJobs @6 :Int32;
  pendingRequests @7 :Int32;
  running @8 :Int32;           # running placements
  preempted @9 :Int64;         # stop orders its work received since the coordinator started
}

# A credential as `token list` shows it: never the token or its hash.
struct TokenInfo {
  id @0 :Text;
  user @1 :Text;
  role @2 :Text;               # user | admin | node
  createdMs @3 :Int64;
  expiresMs @4 :Int64;         # 0: never
  node @5 :Text;               # role node: the node it is bound to
}

# The join token's capability: a new node's credential, bound to its name.
interface Join {
  # alreadyExists: another credential holds `name` (gantry nodes remove NAME frees it).
  join @0 (name :Text) -> (status :Status, credential :Text);
}

# A node credential's capability: the worker API for the node it is bound to.
interface WorkerGate {
  # A worker joins (or rejoins) the cluster and hands over its agent. permissionDenied for an
  # inventory whose name is not the credential's node.
  registerWorker @0 (version :UInt32, inventory :Inventory, agent :NodeAgent, tasks :List(TaskReport))
      -> (status :Status, session :WorkerSession, heartbeatIntervalMs :UInt32);
}

# A task credential's capability: the rendezvous of the task's own gang attempt.
# Small values exchanged by the ranks of one gang attempt (an ncclUniqueId, addresses).
# A get waits up to timeoutMs for a put of the same key in the same scope. permissionDenied
# for a scope of another job, stage or attempt.
interface Rendezvous {
  put @0 (scope :RendezvousScope, key :Text, value :Data) -> (status :Status);
  get @1 (scope :RendezvousScope, key :Text, timeoutMs :UInt32)
      -> (status :Status, value :Data);
  # Does nothing: a task waiting on a long get sends it so that the connection does not
  # count as idle (the coordinator's --idle-timeout-ms).
  ping @2 () -> ();
}

# Values of different jobs, stages or attempts never mix.
struct RendezvousScope {
  jobId @0 :Text;
  stage @1 :Text;
  attempt @2 :Int32;
}

interface JobWatcher {
  events @0 (events :List(JobEvent)) -> ();
}

# Held by a watching client; dropping it ends the watch.
interface Subscription {}

interface WorkerSession {
  # Sent on a fixed schedule (every heartbeatIntervalMs, not waiting for the previous
  # reply). `seq` counts from 1 in each session; `lagMs` is how long after it was due the
  # worker sent it. failedPrecondition: this session was replaced or the node was declared
  # lost; the worker must register again.
  heartbeat @0 (seq :UInt64, lagMs :UInt32) -> (status :Status);
  taskExited @1 (report :TaskReport) -> ();
  checkpointCommitted @2 (taskId :Text, step :Int64) -> ();
}

interface NodeAgent {
  launch @0 (task :TaskSpec) -> (status :Status, pid :Int64);
  # SIGTERM to the task's process group, SIGKILL after graceMs; exits come as taskExited.
  kill @1 (taskId :Text, graceMs :UInt32) -> (status :Status);
  readLog @2 (taskId :Text, offset :UInt64, maxBytes :UInt32)
      -> (status :Status, data :Data, nextOffset :UInt64, finished :Bool);
  # A TCP port free on this machine now, for a gang's MASTER_PORT.
  reservePort @3 () -> (status :Status, port :UInt16);
  # Sends `signal` to the task's process group (SIGUSR1 asks for a checkpoint on drain).
  signal @4 (taskId :Text, signal :Int32) -> (status :Status);
}
