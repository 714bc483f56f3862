#pragma once
// ProcessFunction: an `exec:<command line>` handler. Each invocation starts one process,
// `/bin/sh -c '<command line>'` (so `node handler.js` or quoted arguments work), in its own
// process group, in our current working directory. A simple command line (no ; | & && || ( )
// or newline, not starting with an assignment, a reserved word or a builtin) runs as
// `exec <command line>`, so the program replaces the shell and its own exit status or signal
// is reported (dash would otherwise report a crash as exit status 128+n). The process
//   - gets the event (render_event: {"Records": [...]}) on its stdin, which is then closed;
//   - answers on stdout (at most 6 MiB, Lambda's payload limit);
//   - logs on stderr: each line goes to context.log, in order (a line is cut at 256 KiB;
//     after 4 MiB of log in one invocation the rest is dropped, with one line saying so).
// Environment (nothing else of ours is inherited):
//   PATH, HOME, LANG            copied from ours when set
//   spec.environment            overrides the above; names with '=' or NUL are skipped
//   AWS_LAMBDA_FUNCTION_NAME    spec.name
//   AWS_LAMBDA_FUNCTION_MEMORY_SIZE   spec.memory_size_mb
//   AWS_LAMBDA_FUNCTION_TIMEOUT context.timeout in whole seconds, rounded up
//   AWS_LAMBDA_FUNCTION_VERSION "$LATEST"
//   AWS_REGION, AWS_DEFAULT_REGION    the stream's region (when the batch has a stream)
//   AWS_REQUEST_ID              context.request_id (Lambda's context.awsRequestId)
// The AWS_* names are reserved as in Lambda: spec.environment cannot override them.
//
// Outcomes (InvokeResult):
//   - exit status 0: ok, response = stdout.
//   - exit status n != 0: error "Runtime exited with error: exit status <n>", followed by
//     "; stderr: <last stderr line>" when it wrote one.
//   - killed by a signal: error "Runtime exited with error: signal: <name>", e.g.
//     "signal: segmentation fault".
//   - still running after context.timeout: the whole process group gets SIGKILL; error
//     "Task timed out after <x.xx> seconds".
//   - resident memory of the process tree over spec.memory_size_mb (sampled every 10 ms, and
//     the kernel's peak at exit): the group gets SIGKILL; error
//     "Runtime exited with error: memory limit of <N> MB exceeded". memory_size_mb <= 0: no cap.
//   - stdout over 6 MiB: the group gets SIGKILL; error "answer exceeds 6 MiB".
//   - the process cannot be started: error "cannot start process: <reason>".
// max_memory_used_mb is the peak resident memory seen. When the main process exits, whatever it
// left running in its group is killed (as Lambda freezes an environment after a response).
// The child is always reaped before invoke() returns.
//
// Lifecycle: stateless between invocations. Thread-safety: invoke() may run concurrently on
// any threads. It blocks SIGPIPE in the calling thread while it runs (a child may close stdin
// before reading everything) and restores the thread's mask before returning.

#include "triggers/function.h"

namespace hirestream::triggers {

class ProcessFunction final : public Function {
  public:
    // `spec.handler` should start with "exec:" (config validation checks it); any other
    // handler, or an empty command line, makes every invoke() fail with an error naming it.
    explicit ProcessFunction(FunctionSpec spec);

    const FunctionSpec& spec() const override { return spec_; }
    InvokeResult invoke(const Batch& batch, const InvocationContext& context) override;

  private:
    FunctionSpec spec_;
};

}  // namespace hirestream::triggers
