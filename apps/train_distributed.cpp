// `cinefactor train` under mpirun (see train_distributed.hpp).
#include "train_distributed.hpp"

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
#include "dist/distributed_train.hpp"
#include "dist/partition.hpp"
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

}  // namespace

void train_distributed(const TrainFlags& flags, const std::string& out, bool json, bool no_user_factors) {
  dist::Communicator comm(nullptr, nullptr);
  // Rank 0 speaks for the job: the others log errors only and draw no progress bars.
  if (!comm.root()) {
    spdlog::set_level(spdlog::level::err);
    Progress::set_quiet(true);
  }
  // Failures every rank shares (bad options, a bad line, a missing file anywhere) come out of
  // agree() on every rank alike: rank 0 reports them, the others exit quietly.
  const auto shared_failure = [&comm] {
    if (comm.root()) throw;
    throw QuietFailure{};
  };
  dist::DistributedTrainOptions options;
  dist::Partition part;
  try {
    options.train = resolve_train_options(flags);
    options.gather_users = !no_user_factors;
    if (options.train.threads == 0) options.train.threads = threads_per_rank();
    LoadOptions load = resolve_load_options(flags);
    load.use_cache = false;  // the binary cache holds the whole matrix: no rank reads or writes it
    load.threads = options.train.threads;
    if (comm.root())
      spdlog::info("distributed job: {} ranks, {} thread{} each", comm.size(), options.train.threads,
                   options.train.threads == 1 ? "" : "s");
    part = dist::load_partition(comm, flags.data, load, options.train.seed);
  } catch (const Error&) {
    shared_failure();
  } catch (const std::exception& e) {
    comm.abort(e.what());
  }

  Model model;
  TrainReport report;
  std::vector<double> iteration_seconds;
  options.train.on_iteration = [&iteration_seconds](const IterationInfo& info) {
    log_iteration(info);
    iteration_seconds.push_back(info.seconds);
  };
  const dist::Traffic load_traffic = comm.traffic();
  comm.reset_traffic();
  try {
    model = dist::train_distributed(comm, part, options, &report);
  } catch (const InvalidArgument&) {
    shared_failure();  // options refused alike on every rank, before any collective
  } catch (const std::exception& e) {
    // A failure in the middle of the collectives (out of memory, divergence seen on one rank): the
    // other ranks may be waiting in one, so the whole job ends here.
    comm.abort(e.what());
  }

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
    shared_failure();
  }
  // What rank 0 put into MPI calls (its payload, see dist/communicator.hpp) and the time it spent in them.
  const auto traffic = [](const dist::Traffic& t) {
    return nlohmann::json{{"calls", t.calls}, {"bytes", t.bytes}, {"seconds", t.seconds}};
  };
  nlohmann::json extra{
      {"ranks", comm.size()},
      {"threads_per_rank", options.train.threads},
      {"communication", {{"load", traffic(load_traffic)}, {"train", traffic(comm.traffic())}}}};
  if (json) extra["iteration_seconds"] = iteration_seconds;
  if (comm.root()) print_train_summary(model, report, part.total_ratings, out, json, extra);
}

}  // namespace cinefactor::cli
