"""Small in-memory stand-ins for the runner tests: a learner, a metric set, batches, log rows.

Importable by spawned pool workers and by SIGKILL subprocesses (module-level, picklable).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ego_cl.runners.engine.user import UserParts
from ego_cl.types import Batch, Prediction, Target

N_VERBS, N_NOUNS, FEAT = 5, 7, 6


def make_batches(n_samples: int, batch_size: int, seed: int = 0, user_shift: int = 0) -> list[Batch]:
    """Deterministic labelled batches of ``[B, FEAT]`` 'clips' with learnable labels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_samples, FEAT, generator=g)
    verbs = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    nouns = (verbs + user_shift) % N_NOUNS
    out = []
    for start in range(0, n_samples, batch_size):
        idx = torch.arange(start, min(start + batch_size, n_samples))
        labels = [[(int(verbs[i]), int(nouns[i]))] for i in idx]
        out.append(Batch(indices=idx, clips=x[idx], target=Target.from_label_sets(labels)))
    return out


class FakeLearner:
    """A linear learner with dropout (global RNG) and momentum SGD: exercises RNG + optimizer resume."""

    def __init__(
        self,
        *,
        lr: float = 0.1,
        seed: int = 0,
        fail_at: int | None = None,
        hard_kill: bool = False,
        sleep_s: float = 0.0,
    ):
        torch.manual_seed(seed)  # tests only: mimics weight init from the seeded global RNG
        self.net = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEAT, N_VERBS + N_NOUNS))
        self.opt = torch.optim.SGD(self.net.parameters(), lr=lr, momentum=0.9)
        self.fail_at = fail_at
        self.hard_kill = hard_kill
        self.sleep_s = sleep_s
        self.n_learned = 0

    def _logits(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(clips)
        return out[:, :N_VERBS], out[:, N_VERBS:]

    def predict(self, batch: Batch) -> Prediction:
        self.net.eval()
        with torch.no_grad():
            verb, noun = self._logits(batch.clips)
        return Prediction(indices=batch.indices, verb_logits=verb, noun_logits=noun)

    def learn(self, batch: Batch) -> dict[str, float]:
        if self.fail_at is not None and int(batch.indices[0]) >= self.fail_at:
            if self.hard_kill:
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"fake failure at sample {int(batch.indices[0])}")
        time.sleep(self.sleep_s)
        self.net.train()
        target = batch.labelled()
        verb, noun = self._logits(batch.clips)
        loss = nn.functional.cross_entropy(verb, target.verb) + nn.functional.cross_entropy(noun, target.noun)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.n_learned += 1
        return {"loss": float(loss.detach())}

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict(), "n_learned": self.n_learned}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.n_learned = state["n_learned"]


class PeekingLearner(FakeLearner):
    """Cheats: reads the labels during predict."""

    def predict(self, batch: Batch) -> Prediction:
        verbs = batch.labelled().verb
        pred = super().predict(batch)
        return Prediction(
            indices=pred.indices,
            verb_logits=nn.functional.one_hot(verbs, N_VERBS).float(),
            noun_logits=pred.noun_logits,
        )


class RewritingLearner(FakeLearner):
    """Cheats: keeps the returned logits and writes the true labels into them during learn."""

    def predict(self, batch: Batch) -> Prediction:
        pred = super().predict(batch)
        self._last = pred
        return pred

    def learn(self, batch: Batch) -> dict[str, float]:
        self._last.verb_logits.zero_()
        self._last.verb_logits[torch.arange(len(batch)), batch.labelled().verb] = 100.0
        return super().learn(batch)


class FakeMetrics:
    """Running top-1 accuracy counts (verb, noun, action) with state_dict."""

    def __init__(self) -> None:
        self.counts = {"verb": 0, "noun": 0, "action": 0, "n": 0}

    def update(self, prediction: Prediction, batch: Batch) -> None:
        target = batch.labelled()
        verb_ok = prediction.verb_logits.argmax(1) == target.verb
        noun_ok = prediction.noun_logits.argmax(1) == target.noun
        self.counts["verb"] += int(verb_ok.sum())
        self.counts["noun"] += int(noun_ok.sum())
        self.counts["action"] += int((verb_ok & noun_ok).sum())
        self.counts["n"] += len(batch)

    def get(self) -> dict[str, float]:
        n = max(self.counts["n"], 1)
        return {f"{k}_top1": 100.0 * self.counts[k] / n for k in ("verb", "noun", "action")}

    def state_dict(self) -> dict[str, Any]:
        return dict(self.counts)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.counts = dict(state)


def log_columns(prediction: Prediction, batch: Batch, step: int) -> dict[str, Sequence[Any]]:
    target = batch.labelled()
    return {
        "step": [step] * len(batch),
        "index": batch.indices.tolist(),
        "verb": target.verb.tolist(),
        "noun": target.noun.tolist(),
        "verb_top1": prediction.verb_logits.argmax(1).tolist(),
        "noun_top1": prediction.noun_logits.argmax(1).tolist(),
        "verb_logit_max": prediction.verb_logits.max(1).values.tolist(),
    }


def fake_parts(
    user_id: str = "u0",
    *,
    n_samples: int = 40,
    batch_size: int = 4,
    seed: int = 0,
    fail_at: int | None = None,
    hard_kill: bool = False,
    sleep_s: float = 0.0,
) -> UserParts:
    batches = make_batches(n_samples, batch_size, seed=hash_user(user_id), user_shift=hash_user(user_id) % 3)
    return UserParts(
        user_id=user_id,
        learner=FakeLearner(seed=seed, fail_at=fail_at, hard_kill=hard_kill, sleep_s=sleep_s),
        metrics=FakeMetrics(),
        batches=lambda start: batches[start:],
        log_columns=log_columns,
        n_samples=n_samples,
    )


def hash_user(user_id: str) -> int:
    return sum(ord(c) * (i + 1) for i, c in enumerate(user_id))


def child_main(user_dir: str, mode: str, arg: int) -> None:
    """Run one fake user in a subprocess that SIGKILLs itself at a chosen point.

    ``mode="learn"``: at the learn call of sample ``arg``; ``mode="replace"``: just before the
    ``arg``-th atomic publish (``os.replace``); ``mode="none"``: never (sleeps a little per batch).
    """
    from pathlib import Path

    import ego_cl.runners.files as files
    from ego_cl.runners.engine.user import stream_user
    from ego_cl.runners.results import UserDir

    if mode == "replace":
        real_replace, calls = os.replace, [0]

        def replace(src, dst):
            calls[0] += 1
            if calls[0] == arg:
                os.kill(os.getpid(), signal.SIGKILL)
            real_replace(src, dst)

        files.os.replace = replace  # type: ignore[attr-defined]
    parts = fake_parts(
        fail_at=arg if mode == "learn" else None, hard_kill=True, sleep_s=0.05 if mode == "none" else 0.0
    )
    stream_user(parts, UserDir(Path(user_dir)), checkpoint_every=3, seed=0)


def fake_target(payload: dict[str, Any], device: str, report: Any) -> dict[str, Any]:
    """Pool target: run one fake user into ``payload['root']/<user_id>``."""
    from pathlib import Path

    from ego_cl.runners.engine.user import stream_user
    from ego_cl.runners.results import UserDir

    parts = fake_parts(
        payload["user_id"],
        n_samples=payload.get("n_samples", 24),
        fail_at=payload.get("fail_at"),
        hard_kill=payload.get("hard_kill", False),
    )
    report(0, parts.n_samples)
    summary = stream_user(
        parts, UserDir(Path(payload["root"]) / payload["user_id"]), checkpoint_every=2, seed=0
    )
    report(parts.n_samples, parts.n_samples)
    return {**summary, "pid": os.getpid(), "threads": torch.get_num_threads()}


def killing_target(job: Any, device: str, report: Any) -> dict[str, Any]:
    """The real user job, except that the user named by ``$EGO_CL_TEST_KILL_USER`` SIGKILLs its
    own worker process once it has streamed ``$EGO_CL_TEST_KILL_AFTER`` samples."""
    from ego_cl.runners.engine.job import run_user_job

    victim = os.environ.get("EGO_CL_TEST_KILL_USER")
    after = int(os.environ.get("EGO_CL_TEST_KILL_AFTER", "0"))

    def watched(done: int, total: int) -> None:
        if job.user_id == victim and job.role == "users" and done >= after:
            os.kill(os.getpid(), signal.SIGKILL)
        report(done, total)

    return run_user_job(job, device, watched)
