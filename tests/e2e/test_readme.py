"""Every command in the README works as written, or says why it cannot run here.

Each command of the README's ``bash`` blocks is listed below with what this test does with
it: run it (`make run`, `make report`, the emulator with a parameter, the make environment)
or the reason it cannot run here (an AWS account, Docker, the suite itself), so a command
added to the README without an entry fails the first test. The API block's requests are
replayed against `make run`, and each answer is compared with the one the README shows;
they are sent with urllib (`make test` needs no curl).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dev_support.paths import ROOT
from tests.e2e.conftest import sums

README = ROOT / "README.md"
NEEDS_AWS = "needs an AWS account and credentials"
NEEDS_DOCKER = "needs Docker (sam local)"
RUN = "run here"
# The block that starts with this line is replayed request by request.
API_BLOCK = "alias curl='curl -s -H \"x-api-key: $KEY\"'"
COMMANDS = {
    "make run": RUN,
    "make test": "the suite itself: CI runs it (.ci/run)",
    "make deploy": NEEDS_AWS,
    "make deploy CONFIG_ENV=prod": NEEDS_AWS,
    'eval "$(make -s env)"': RUN,
    "sam build && sam deploy": NEEDS_AWS,
    "make report": RUN,
    "make report SINCE=2026-12-02T10:00 UNTIL=2026-12-02T11:00": RUN,
    "make trace ID=3f1e4b9a-6c2d-4e8f-9a7b-5d0c1e2f3a4b": RUN,
    ".venv/bin/python -m emulator --parameter AuthMode=NONE": RUN,
    "make build-host && sam local start-api -t .aws-sam/build-host/template.yaml": NEEDS_DOCKER,
    "sam local invoke InferenceFunction -t .aws-sam/build-host/template.yaml"
    " -e events/infer_iris.json": NEEDS_DOCKER,
    "URL=http://127.0.0.1:3000/prod KEY=$(cat .local/api-key)": RUN,
    "STACK=model-endpoint-dev": NEEDS_AWS,
    'out() { aws cloudformation describe-stacks --stack-name "$STACK" --query'
    " \"Stacks[0].Outputs[?OutputKey=='$1'].OutputValue\" --output text; }": NEEDS_AWS,
    'URL=$(out ApiUrl) KEY=$(aws apigateway get-api-key --api-key "$(out ApiKeyId)"'
    " --include-value --query value --output text)": NEEDS_AWS,
    "sam logs --stack-name model-endpoint-dev -n InferenceFunction --tail": NEEDS_AWS,
    "sam logs --cw-log-group /aws/apigateway/model-endpoint-dev-access --tail": NEEDS_AWS,
    "sam traces --tail": NEEDS_AWS,
    "make logs": NEEDS_AWS,
    ".venv/bin/python tools/describe_model.py inference_fn/inference/models/diabetes/1/model.onnx"
    " --name my-diabetes --version 1 --out my-models": RUN,
    "make run MODELS_URI=file://$PWD/my-models": RUN,
    "aws s3 sync my-models s3://my-bucket/models/2026-12-02/": NEEDS_AWS,
}
# Sub-makes would print "Entering directory" lines into what the commands print.
MAKE_VARIABLES = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")
ENV = {name: value for name, value in os.environ.items() if name not in MAKE_VARIABLES}


@dataclass
class Command:
    text: str
    # The answer the README shows in the comments that follow the command.
    documented: list[str] = field(default_factory=list)


def _complete(command: str) -> bool:
    if command.endswith("\\"):
        return False
    try:
        shlex.split(command)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


def readme_blocks() -> list[list[Command]]:
    """The README's ``bash`` blocks, as commands with their documented answers."""
    blocks: list[list[Command]] = []
    pending = ""
    inside = False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            inside = line == "```bash"
            blocks += [[]] if inside else []
            continue
        if not inside or (not pending and not line.strip()):
            continue
        if not pending and line.startswith("#"):
            blocks[-1][-1].documented.append(line.removeprefix("#").strip())
            continue
        inline = re.search(r"\s{2,}#\s?(.*)$", line)
        head = line[: inline.start()] if inline else line
        candidate = f"{pending}\n{head}" if pending else head
        if _complete(candidate):
            documented = [inline.group(1)] if inline else []
            blocks[-1].append(Command(candidate.strip(), documented))
            pending = ""
        else:
            pending = f"{pending}\n{line}" if pending else line
    return blocks


def api_block() -> list[Command]:
    """The API's blocks (the OIP routes' and the LLM endpoints'), each starting with the alias."""
    blocks = [block for block in readme_blocks() if block[0].text == API_BLOCK]
    assert len(blocks) == 2
    return [command for block in blocks for command in block]


def python_block(heading: str) -> str:
    """The first ``python`` block under ``heading``."""
    text = README.read_text()
    section = text[text.index(f"\n{heading}\n") :]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("```", start)]


def test_every_readme_command_is_run_here_or_says_why_not() -> None:
    listed = [
        command.text for block in readme_blocks() if block[0].text != API_BLOCK for command in block
    ]

    assert sorted(listed) == sorted(COMMANDS)


# --- running them ---------------------------------------------------------------------


@dataclass
class Server:
    """A long-running README command (make run, the emulator) and what it printed first."""

    process: subprocess.Popen[str]
    banner: list[str]

    @property
    def url(self) -> str:
        (line,) = [line for line in self.banner if " emulator on " in line]
        return line.split(" emulator on ")[1].strip()

    def curl_command(self) -> str:
        start = next(i for i, line in enumerate(self.banner) if line.strip().startswith("curl "))
        return " ".join(line.strip().rstrip("\\") for line in self.banner[start : start + 2])

    def interrupt(self) -> str:
        """Ctrl-C, as a terminal sends it to the whole foreground group; the rest of stdout."""
        os.killpg(self.process.pid, signal.SIGINT)
        rest, _ = self.process.communicate(timeout=120)
        return rest


def start(arguments: list[str], env: dict[str, str]) -> Server:
    process = subprocess.Popen(
        arguments,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    banner: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, ""):
            lines.put(line)
            if line.startswith("Ctrl-C stops"):
                return
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 300
    while not banner or not banner[-1].startswith("Ctrl-C stops"):
        line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
        if not line:
            pytest.fail(f"{arguments} ended before serving:\n{''.join(banner)}")
        banner.append(line.rstrip("\n"))
    return Server(process, banner)


def curl(words: list[str]) -> tuple[int, Any]:
    """What ``curl WORDS`` answers (the options the README uses: -s, -X, -H, -d)."""
    method, headers, data, url = None, {}, None, ""
    options = iter(words)
    for word in options:
        if word == "-X":
            method = next(options)
        elif word == "-H":
            name, _, value = next(options).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(options).encode()
        elif word != "-s":
            url = word
    request = urllib.request.Request(  # noqa: S310 -- the loopback emulator
        url, data=data, headers=headers, method=method or ("POST" if data else "GET")
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def assert_documented(command: Command, status: int, body: Any) -> None:
    shown = "".join(command.documented)
    if not shown.startswith("{"):  # words ("model metadata"), not an answer
        assert status == 200, (command.text, status, body)
        return
    assert (status >= 400) == ("error" in body), (command.text, status, body)
    if "..." in shown:
        pattern = re.escape(shown).replace(re.escape("..."), ".*")
        assert re.fullmatch(pattern, json.dumps(body, separators=(",", ":"))), command.text
    else:
        assert body == json.loads(shown), command.text


def bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    state = tmp_path_factory.mktemp("make-run")
    # As written, on a free port and with its own state folder (both documented options).
    server = start(["make", "run", "PORT=0", f"STATE_DIR={state}"], ENV)
    yield server, state
    if server.process.poll() is None:
        server.interrupt()


def test_make_run_answers_the_readme_api_as_documented(make_run: tuple[Server, Path]) -> None:
    server, state = make_run
    port = server.url.split(":")[2].split("/")[0]
    local = next(text for text in COMMANDS if text.startswith("URL=http://127.0.0.1"))
    script = local.replace(":3000/", f":{port}/").replace(".local/", f"{state}/")
    variables = bash(f'{script}\nprintf "%s\\n" "$URL" "$KEY"', ENV).stdout.split()
    url, key = variables
    assert url == server.url
    assert f"  API key (x-api-key): {key}" in "\n".join(server.banner)

    aliases: dict[str, list[str]] = {}
    requests = 0
    for command in api_block():
        words = shlex.split(command.text)
        if words[0] == "alias":
            name, _, value = words[1].partition("=")
            aliases[name] = shlex.split(value)
            continue
        words = words[1:] if words[0] == "command" else aliases.get(words[0], words[:1]) + words[1:]
        expanded = [word.replace("$URL", url).replace("$KEY", key) for word in words]
        status, body = curl(expanded[1:])
        assert_documented(command, status, body)
        requests += 1
    assert requests >= 10


def test_the_openai_example_runs_against_make_run(make_run: tuple[Server, Path]) -> None:
    server, state = make_run
    key = (state / "api-key").read_text().strip()
    script = python_block("## LLM endpoints")

    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**ENV, "URL": server.url, "KEY": key},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    models, answer = done.stdout.splitlines()
    assert models == "['chat']"
    assert answer.startswith("This is the local Bedrock stand-in.")


def test_make_run_banner_curl_works_and_ctrl_c_drains(make_run: tuple[Server, Path]) -> None:
    server, state = make_run
    status, body = curl(shlex.split(server.curl_command())[1:])
    assert status == 200
    assert body["outputs"][0]["data"] == [0]

    rest = server.interrupt()

    assert "stopping: delivering pending log lines" in rest
    access_lines = (state / "logs" / "access.log").read_text().splitlines()
    lines = [json.loads(line) for line in (state / "metrics.jsonl").read_text().splitlines()]
    metrics = [line for line in lines if "function" in line]
    assert sum(sums(metrics, "LogLines", "service").values()) == len(access_lines) > 0


def test_make_report_reads_the_run(make_run: tuple[Server, Path]) -> None:
    server, state = make_run
    if server.process.poll() is None:
        server.interrupt()
    for command in ("make report", "make report SINCE=2026-12-02T10:00 UNTIL=2026-12-02T11:00"):
        done = bash(f"{command} STATE_DIR={state}", ENV)

        assert done.returncode == 0, done.stderr
        assert "\nnamespace: " in done.stdout or "No metrics in this window." in done.stdout
    assert "Inferences" in bash(f"make report STATE_DIR={state}", ENV).stdout


def test_make_trace_tells_the_story_of_a_request_of_the_run(make_run: tuple[Server, Path]) -> None:
    server, state = make_run
    if server.process.poll() is None:
        server.interrupt()
    access = [json.loads(line) for line in (state / "logs" / "access.log").read_text().splitlines()]
    served = next(
        line for line in access if line["path"].endswith("/infer") and line["status"] == "200"
    )
    command = next(text for text in COMMANDS if text.startswith("make trace ID="))
    command = re.sub(r"ID=\S+", f"ID={served['requestId']}", command)

    done = bash(f"{command} STATE_DIR={state}", ENV)

    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()  # make's echo of the command, then the story
    lines = printed[next(i for i, line in enumerate(printed) if line.startswith("request ")) :]
    assert lines[0].startswith(f"request {served['requestId']}: POST /prod/v2/models/")
    assert f"trace {served['traceId']}:" in done.stdout
    # The stage, Lambda's function segment (with Initialization on a cold start), the
    # function's subsegments.
    names = [line.split(" +")[0].strip() for line in lines[3:]]
    assert [name for name in names if name != "Initialization"] == [
        "local/prod",
        "InferenceFunction",
        "## lambda_handler",
        "## predict",
    ]
    assert "model=iris" in done.stdout


def test_the_emulator_with_a_parameter_runs_without_aws_configuration(tmp_path: Path) -> None:
    command = next(text for text in COMMANDS if text.startswith(".venv/bin/python -m emulator"))
    env = {k: v for k, v in ENV.items() if not k.startswith("AWS_")}
    server = start([*shlex.split(command), "--port", "0", "--state-dir", str(tmp_path)], env)
    try:
        banner = "\n".join(server.banner)
        assert "API key (x-api-key)" not in banner
        assert "no API key" in banner
        assert "x-api-key" not in server.curl_command()
        status, body = curl(shlex.split(server.curl_command())[1:])
        assert (status, body["outputs"][0]["data"]) == (200, [0])
    finally:
        rest = server.interrupt()
    assert server.process.returncode == 0, rest


def test_the_make_environment_gives_sam_what_make_gives_it() -> None:
    clean = {"PATH": "/usr/bin:/bin", "HOME": ENV.get("HOME", str(ROOT))}

    done = bash(
        'eval "$(make -s env)"\ncommand -v sam uv\necho "$UV_LOCKED $UV_PYTHON_DOWNLOADS"', clean
    )

    sam, uv, settings = done.stdout.splitlines()
    assert Path(sam) == ROOT / ".venv" / "bin" / "sam"
    assert Path(uv) == ROOT / ".venv" / "bin" / "uv"
    assert settings == "1 never"


def test_make_help_lists_every_target_the_readme_names() -> None:
    readme = README.read_text()
    sentence = readme[readme.index("`make help` lists every target:") :].split("\n\n")[0]
    named = re.findall(r"`([a-z-]+)`", sentence)

    listed = bash("make help", ENV).stdout

    assert len(named) > 10
    for target in named:
        assert f"make {target} " in listed, target


def test_your_model_described_then_served_by_make_run(tmp_path: Path) -> None:
    describe = next(text for text in COMMANDS if "tools/describe_model.py" in text)
    serve = next(text for text in COMMANDS if text.startswith("make run MODELS_URI="))
    # As written, with the folder under this test's own temporary path instead of the checkout.
    models = tmp_path / "my-models"
    done = bash(describe.replace("--out my-models", f"--out {models}"), ENV)
    assert done.returncode == 0, done.stderr
    words = shlex.split(serve.replace("$PWD/my-models", str(models)))
    server = start([*words, "PORT=0", f"STATE_DIR={tmp_path / 'state'}"], ENV)
    key = {"x-api-key": (tmp_path / "state" / "api-key").read_text().strip()}
    rows = [[0.038, 0.051, 0.062, 0.022, -0.044, -0.035, -0.043, -0.003, 0.020, -0.018]]
    body = {"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP32", "data": rows}]}
    try:
        request = urllib.request.Request(  # noqa: S310 -- the loopback emulator
            f"{server.url}/v2/models/my-diabetes/infer",
            data=json.dumps(body).encode(),
            headers={**key, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            answer = json.loads(response.read())
    finally:
        server.interrupt()

    (output,) = answer["outputs"]
    assert (answer["model_name"], output["name"], output["shape"]) == (
        "my-diabetes",
        "prediction",
        [1],
    )
