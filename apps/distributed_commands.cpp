// `cinefactor train` and `evaluate` under mpirun (see distributed_commands.hpp).
#include "distributed_commands.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

#include "cinefactor/error.hpp"
#include "cinefactor/model_file.hpp"
#include "cinefactor/progress.hpp"
#include "commands.hpp"
#include "dist/communicator.hpp"
#include "dist/distributed_evaluate.hpp"
#include "dist/distributed_train.hpp"
#include "dist/partition.hpp"
#include "evaluation_report.hpp"
#include "train_summary.hpp"

namespace cinefactor::cli {
namespace {

// Threads per rank when --threads is 0: the cores of the node shared by the ranks the launcher put on it.
int threads_per_rank() {
  int local_ranks = 1;
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
    if (const char* v = std::getenv(name)) {
      local_ranks = std::max(1, std::atoi(v));
      break;
    }
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / local_ranks);
}

// One distributed command: MPI started, rank 0 speaking for the job, the partition loaded.
class DistributedJob {
 public:
  DistributedJob() {
    // Rank 0 speaks for the job: the others log errors only and draw no progress bars.
    if (!comm.root()) {
      spdlog::set_level(spdlog::level::err);
      Progress::set_quiet(true);
    }
  }

  // For failures every rank shares (bad options, a bad line, a missing file anywhere: they come out of
  // agree() on every rank alike), inside a catch block: rank 0 reports them, the others exit quietly.
  [[noreturn]] void shared_failure() const {
    if (comm.root()) throw;
    throw QuietFailure{};
  }

  // Resolves the flags into `train` and loads the partition (every rank reads its byte range).
  dist::Partition load(const TrainFlags& flags, TrainOptions& train) {
    dist::Partition part;
    try {
      train = resolve_train_options(flags);
      if (train.threads == 0) train.threads = threads_per_rank();
      LoadOptions load = resolve_load_options(flags);
      load.use_cache = false;  // the binary cache holds the whole matrix: no rank reads or writes it
      load.threads = train.threads;
      if (comm.root())
        spdlog::info("distributed job: {} ranks, {} thread{} each", comm.size(), train.threads,
                     train.threads == 1 ? "" : "s");
      part = dist::load_partition(comm, flags.data, load, train.seed);
    } catch (const Error&) {
      shared_failure();
    } catch (const std::exception& e) {
      comm.abort(e.what());
    }
    return part;
  }

  // Runs `work` (every rank's collectives): options refused alike on every rank, and failures the ranks
  // agreed on, end the job as a shared failure; anything else in the middle of the collectives (out of
  // memory, divergence seen on one rank) may leave the other ranks waiting in one, so the whole job ends
  // there.
  template <class Work>
  void run(Work&& work) {
    try {
      work();
    } catch (const InvalidArgument&) {
      shared_failure();
    } catch (const dist::SharedFailure&) {
      shared_failure();
    } catch (const std::exception& e) {
      comm.abort(e.what());
    }
  }

  dist::Communicator comm{nullptr, nullptr};
};

}  // namespace

void train_distributed(const TrainFlags& flags, const std::string& out, bool json, bool no_user_factors) {
  DistributedJob job;
  auto& comm = job.comm;
  dist::DistributedTrainOptions options;
  options.gather_users = !no_user_factors;
  const dist::Partition part = job.load(flags, options.train);

  Model model;
  TrainReport report;
  std::vector<double> iteration_seconds;
  options.train.on_iteration = [&iteration_seconds](const IterationInfo& info) {
    log_iteration(info);
    iteration_seconds.push_back(info.seconds);
  };
  const dist::Traffic load_traffic = comm.traffic();
  comm.reset_traffic();
  dist::Traffic nccl_traffic;
  job.run([&] { model = dist::train_distributed(comm, part, options, &report, &nccl_traffic); });

  // Rank 0 writes the model only now that every rank has finished, and every rank learns whether it could.
  std::exception_ptr error;
  if (comm.root()) {
    try {
      save_model(model, out);
    } catch (...) {
      error = std::current_exception();
    }
  }
  try {
    comm.agree(error);
  } catch (const Error&) {
    job.shared_failure();
  }
  // What rank 0 put into MPI calls (its payload, see dist/communicator.hpp) and the time it spent in them.
  const auto traffic = [](const dist::Traffic& t) {
    return nlohmann::json{{"calls", t.calls}, {"bytes", t.bytes}, {"seconds", t.seconds}};
  };
  nlohmann::json extra{
      {"ranks", comm.size()},
      {"threads_per_rank", options.train.threads},
      {"communication", {{"load", traffic(load_traffic)}, {"train", traffic(comm.traffic())}}}};
  if (options.train.device == Device::cuda) extra["communication"]["nccl"] = traffic(nccl_traffic);
  if (json) extra["iteration_seconds"] = iteration_seconds;
  if (comm.root()) print_train_summary(model, report, part.total_ratings, out, json, extra);
}

void evaluate_distributed(const TrainFlags& flags, const EvaluationOptions& options, bool json) {
  DistributedJob job;
  TrainOptions train;
  const dist::Partition part = job.load(flags, train);
  EvaluationResult result;
  job.run([&] { result = dist::evaluate_distributed(job.comm, part, train, options); });
  if (job.comm.root()) print_evaluation(result, flags.data, json);
}

}  // namespace cinefactor::cli
