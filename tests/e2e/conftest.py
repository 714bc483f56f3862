"""Fixtures: an in-process SMTP sink, a launcher for the hirestream binary, and a report hook
that attaches each process's stderr to a failing test's report."""

import itertools
import os

import pytest

import harness


class Launcher:
    """Starts hirestream processes in `root`; every process is killed at close()."""

    def __init__(self, root):
        self.root = str(root)
        self.runs = []
        self._seq = itertools.count(1)
        self.data_dir = os.path.join(self.root, "data")
        self.outbox_dir = os.path.join(self.root, "outbox")

    def write_config(self, cfg, workdir):
        path = os.path.join(workdir, "hirestream.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(harness.to_yaml(cfg) + "\n")
        return path

    def start(self, *, smtp_url=None, function_enabled=True, data_dir=None, outbox_dir=None,
              edit=None, env=None, wait=True, config_path=None):
        """Starts `hirestream serve`. smtp_url None = outbox mode. `edit(cfg)` may change the
        config dict before it is written; `config_path` uses that file as it is instead.
        Returns a ready harness.Hirestream."""
        if not (os.path.isfile(harness.BINARY) and os.access(harness.BINARY, os.X_OK)):
            pytest.fail(f"hirestream binary not found at {harness.BINARY} "
                        "(build it, or set HIRESTREAM_BIN)")
        n = next(self._seq)
        workdir = os.path.join(self.root, f"run{n}")
        os.makedirs(workdir, exist_ok=True)
        data_dir = data_dir or self.data_dir
        outbox_dir = outbox_dir or self.outbox_dir
        if config_path is None:
            cfg = harness.make_config(data_dir=data_dir, outbox_dir=outbox_dir,
                                      function_enabled=function_enabled)
            if edit:
                edit(cfg)
            config_path = self.write_config(cfg, workdir)
        proc_env = harness.base_env(HIRESTREAM_DATA=data_dir, HIRESTREAM_OUTBOX=outbox_dir,
                                    HIRESTREAM_SMTP_URL=smtp_url)
        for k, v in (env or {}).items():
            if v is None:
                proc_env.pop(k, None)  # e.g. HIRESTREAM_ADMIN_KEY=None: start without one
            else:
                proc_env[k] = v
        hs = harness.Hirestream(f"run{n}", workdir, proc_env, config_path)
        self.runs.append(hs)
        if wait:
            hs.wait_ready()
        return hs

    def close(self):
        for hs in self.runs:
            hs.close()


def _register(request, hs_list):
    runs = getattr(request.node, "_hirestream_runs", None)
    if runs is None:
        runs = request.node._hirestream_runs = []
    runs.append(hs_list)


@pytest.fixture
def smtp():
    sink = harness.SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def webhook():
    server = harness.WebhookServer()
    yield server
    server.stop()


@pytest.fixture
def launcher(request, tmp_path):
    lau = Launcher(tmp_path)
    _register(request, lau.runs)
    yield lau
    lau.close()


@pytest.fixture(scope="module")
def shared_module(tmp_path_factory):
    """One SMTP sink and one hirestream (function enabled) shared by a module's tests."""
    sink = harness.SmtpSink()
    lau = Launcher(tmp_path_factory.mktemp("shared"))
    try:
        hs = lau.start(smtp_url=sink.url)
        yield hs, sink, lau
    finally:
        lau.close()
        sink.stop()


@pytest.fixture
def shared(request, shared_module):
    hs, sink, lau = shared_module
    _register(request, lau.runs)
    if not hs.alive():
        pytest.fail(f"shared hirestream died:\n{hs.stderr_tail()}")
    return hs, sink


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for runs in getattr(item, "_hirestream_runs", []):
        for hs in runs:
            status = hs.proc.poll()
            rep.sections.append(
                (f"hirestream {hs.name} (exit status {status}) stdout",
                 "\n".join(line for line in hs.stdout_lines if line is not None)))
            rep.sections.append((f"hirestream {hs.name} stderr ({hs.stderr_path})",
                                 hs.stderr_tail()))
