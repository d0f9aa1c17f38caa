"""A throwaway local Redis Cluster for the tests: three masters, no replicas, no persistence.

Started from the ``redis-server`` binary on free ports of 127.0.0.1, joined with
``redis-cli --cluster create``, waited for until every node reports ``cluster_state:ok`` and
killed on ``stop()``, at interpreter exit, and (on Linux) when the test process dies.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

CLUSTER_BUS_OFFSET = 10_000  # Redis listens on port + 10000 for the cluster bus


class ClusterStartError(RuntimeError):
    pass


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports whose cluster-bus port (port + 10000) is free as well."""
    ports: list[int] = []
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + CLUSTER_BUS_OFFSET > 65535 or port in ports:
            # Ephemeral ports are usually above 32768: pick from the range below instead.
            port = 20_000 + (port % 30_000)
        if port not in ports and _port_free(port) and _port_free(port + CLUSTER_BUS_OFFSET):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise ClusterStartError(f"could not find {count} free port pairs for a Redis Cluster")


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the child when the test process dies, even by SIGKILL."""
    if sys.platform != "linux":
        return
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalRedisCluster:
    def __init__(self, masters: int = 3, *, binary: str = "redis-server") -> None:
        self.masters = masters
        self.binary = binary
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.dir: Path | None = None
        self._atexit_registered = False

    @property
    def url(self) -> str:
        """The URL form ``INTERVIEW_REDIS_URL`` takes for a cluster (any node is a seed)."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def start(self, timeout_s: float = 60.0) -> str:
        server = shutil.which(self.binary)
        cli = shutil.which("redis-cli")
        if server is None or cli is None:
            raise ClusterStartError("redis-server and redis-cli must be installed")
        deadline = time.monotonic() + timeout_s
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        self.dir = Path(tempfile.mkdtemp(prefix="redis-cluster-"))
        try:
            self._spawn(server, deadline)
            self._create(cli, deadline)
            self._wait_ok(deadline)
        except BaseException:
            logs = self._logs()
            self.stop()
            if logs:
                sys.stderr.write(logs + "\n")
            raise
        return self.url

    def _spawn(self, server: str, deadline: float) -> None:
        assert self.dir is not None
        for attempt in range(3):
            self.ports = _free_ports(self.masters)
            for port in self.ports:
                log = open(self.dir / f"{port}.log", "wb")
                try:
                    process = subprocess.Popen(
                        [server, *self._options(port)],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        preexec_fn=_die_with_parent,
                    )
                finally:
                    log.close()
                self.processes.append(process)
            if self._all_answer(deadline):
                return
            # A port taken meanwhile by someone else: start over on new ports.
            self._kill()
            if attempt == 2 or time.monotonic() > deadline:
                break
        raise ClusterStartError("the Redis Cluster nodes did not start")

    def _options(self, port: int) -> list[str]:
        assert self.dir is not None
        options = {
            "bind": "127.0.0.1",
            "port": str(port),
            "cluster-enabled": "yes",
            "cluster-config-file": str(self.dir / f"nodes-{port}.conf"),
            "cluster-node-timeout": "5000",
            "dir": str(self.dir),
            "save": "",
            "appendonly": "no",
            "daemonize": "no",
            "protected-mode": "yes",
        }
        return [arg for name, value in options.items() for arg in (f"--{name}", value)]

    def _all_answer(self, deadline: float) -> bool:
        pending = set(self.ports)
        while pending and time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    return False
            for port in list(pending):
                with (
                    contextlib.suppress(redis.RedisError, OSError),
                    redis.Redis(host="127.0.0.1", port=port, socket_timeout=1) as node,
                ):
                    if node.ping():
                        pending.discard(port)
            if pending:
                time.sleep(0.05)
        return not pending

    def _create(self, cli: str, deadline: float) -> None:
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        result = subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=max(1.0, deadline - time.monotonic()),
            check=False,
        )
        if result.returncode != 0:
            raise ClusterStartError(
                f"redis-cli --cluster create failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )

    def _wait_ok(self, deadline: float) -> None:
        pending = set(self.ports)
        while pending:
            for port in list(pending):
                with (
                    contextlib.suppress(redis.RedisError, OSError),
                    redis.Redis(
                        host="127.0.0.1", port=port, socket_timeout=1, decode_responses=True
                    ) as node,
                ):
                    state = node.cluster("INFO")
                    if (
                        state.get("cluster_state") == "ok"
                        and int(state.get("cluster_known_nodes", 0)) == self.masters
                        and int(state.get("cluster_slots_ok", 0)) == 16384
                    ):
                        pending.discard(port)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise ClusterStartError(f"nodes {sorted(pending)} never reported cluster_state:ok")
            time.sleep(0.1)

    def _logs(self) -> str:
        if self.dir is None:
            return ""
        parts = []
        for path in sorted(self.dir.glob("*.log")):
            with contextlib.suppress(OSError):
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)

    def _kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=5)
        self.processes = []

    def stop(self) -> None:
        """Kill every node and remove the temporary directory (safe to call twice)."""
        self._kill()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if self._atexit_registered:
            atexit.unregister(self.stop)
            self._atexit_registered = False


if __name__ == "__main__":  # python -m tests.redis_cluster: one by hand, until Ctrl-C or TERM
    cluster = LocalRedisCluster()
    print(cluster.start(), flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
