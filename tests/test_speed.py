"""Speed options keep the maths: FusedAdam, matmul convolutions, mixed precision, XLA, tf.distribute."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.fast.matmul import (HANDWRITTEN_GRAD_MIN_ROWS, MatmulConv2D, MatmulConv2DTranspose,
                                    times_weight, times_weight_t)
from pix2pix_tf.config import ConfigError
from pix2pix_tf.fast.distribute import StrategyError, check_global_batch, make_strategy
from pix2pix_tf.fast.adam import FusedAdam
from pix2pix_tf.fast.matmul import SmallMapMatmul
from pix2pix_tf.fast.transform import speed_up
from pix2pix_tf.layers import walk_layers
from pix2pix_tf.model import Pix2Pix
from pix2pix_tf.run.options import RunOptions
from pix2pix_tf.fast import precision as precision_module
from pix2pix_tf.fast.precision import auto_precision, precision_scope, resolve_precision


def _batch(size=32, n=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")
    y = rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")
    return tf.constant(x), tf.constant(y)


def test_fused_adam_matches_keras_adam():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(40, 6)).astype("float32")
    a, b = keras.Variable(start), keras.Variable(start)
    ka = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)
    fa = FusedAdam(2e-4, beta_1=0.5, beta_2=0.999)
    for _ in range(25):
        g = tf.constant(rng.normal(size=(40, 6)).astype("float32"))
        ka.apply_gradients([(g, a)])
        fa.apply_gradients([(g, b)])
    moved = np.abs(a.numpy() - start).max()
    assert moved > 1e-3  # 25 steps of lr 2e-4 really moved the weights
    np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-6)
    assert int(fa.iterations.numpy()) == 25
    # same variables as Keras' Adam: a checkpoint of one restores into the other
    assert [v.shape for v in fa.variables] == [v.shape for v in ka.variables]


@pytest.mark.parametrize("cls,size,cin,cout", [
    (MatmulConv2D, 8, 16, 8), (MatmulConv2D, 2, 8, 8), (MatmulConv2D, 1, 8, 4),
    (MatmulConv2D, 32, 5, 3), (MatmulConv2DTranspose, 4, 16, 8), (MatmulConv2DTranspose, 1, 8, 8),
    (MatmulConv2DTranspose, 2, 6, 3), (MatmulConv2DTranspose, 16, 5, 3)])
def test_matmul_convolutions_equal_tensorflow_kernels(cls, size, cin, cout):
    """Output and both gradients match a float64 reference as well as TF's own kernels do."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, size, size, cin))
    results = {}
    for name, dtype, max_size in (("f64", "float64", 0), ("native", "float32", 0), ("matmul", "float32", 64)):
        layer = cls(cout, 4, strides=2, padding="same", use_bias=True, dtype=dtype,
                    max_matmul_size=max_size)
        xx = tf.constant(x, dtype)
        layer.build(xx.shape)
        if name == "f64":
            kernel = rng.normal(size=layer.kernel.shape) * 0.1
            bias = rng.normal(size=layer.bias.shape)
        layer.kernel.assign(kernel.astype(dtype))
        layer.bias.assign(bias.astype(dtype))
        with tf.GradientTape() as tape:
            tape.watch(xx)
            y = layer(xx)
            if name == "f64":
                dy = rng.normal(size=y.shape)
            loss = tf.reduce_sum(y * tf.constant(dy, dtype))
        gx, gk, gb = tape.gradient(loss, [xx, layer.kernel, layer.bias])
        results[name] = [t.numpy().astype("float64") for t in (y, gx, gk, gb)]
    expected_out = size * 2 if cls is MatmulConv2DTranspose else max(size // 2, 1)
    assert results["matmul"][0].shape == (2, expected_out, expected_out, cout)
    for got, ref, native in zip(results["matmul"], results["f64"], results["native"]):
        scale = np.abs(ref).max()
        err = np.abs(got - ref).max() / scale
        native_err = np.abs(native - ref).max() / scale
        assert err < 1e-5 and err <= 10 * native_err + 1e-6, (err, native_err)


def test_matmul_path_only_on_small_maps():
    layer = MatmulConv2D(4, 4, strides=2, padding="same", max_matmul_size=8)
    big = tf.random.normal((1, 16, 16, 3))
    small = tf.random.normal((1, 8, 8, 3))
    layer(big)  # builds the kernel

    def op_types(inp):
        graph = tf.function(lambda t: layer(t)).get_concrete_function(inp).graph
        return {op.type for op in graph.get_operations()}
    assert "Conv2D" in op_types(big) and "MatMul" not in op_types(big)
    assert "MatMul" in op_types(small) and "Conv2D" not in op_types(small)


def _weight_matmul_graph(fn, rows, k, n, transposed, rows_per_image):
    """fn's value and gradients traced for x of (rows, k) and the weight of (k, n) or (n, k),
    and how each MatMul in the graph uses the weight: "a", "a^T", "b" or "b^T"."""
    w_shape = (n, k) if transposed else (k, n)

    @tf.function
    def step(x, w, dy):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            y = fn(x, w, rows_per_image=rows_per_image)
            loss = tf.reduce_sum(y * dy)
        return (y, *tape.gradient(loss, [x, w]))

    concrete = step.get_concrete_function(tf.TensorSpec((rows, k)), tf.TensorSpec(w_shape),
                                          tf.TensorSpec((rows, n)))
    w_in = concrete.graph.inputs[1]

    def is_weight(t):  # through the Identity / IdentityN ops custom_gradient adds
        while t is not w_in and t.op.type in ("Identity", "IdentityN"):
            t = t.op.inputs[t.value_index if t.op.type == "IdentityN" else 0]
        return t is w_in

    uses = []
    for op in concrete.graph.get_operations():
        if op.type == "MatMul":
            for side, attr in ((0, "transpose_a"), (1, "transpose_b")):
                if is_weight(op.inputs[side]):
                    uses.append("ab"[side] + ("^T" if op.get_attr(attr) else ""))
    return step, w_shape, uses


@pytest.mark.parametrize("fn,transposed", [(times_weight, False), (times_weight_t, True)])
@pytest.mark.parametrize("rows,rows_per_image", [(3, 3), (HANDWRITTEN_GRAD_MIN_ROWS, 16), (None, 32)])
def test_weight_matmuls_equal_tf_matmul_and_never_transpose_the_weight(fn, transposed, rows, rows_per_image):
    """times_weight / times_weight_t: tf.matmul's value and gradients; from 16 rows on (or a
    batch unknown when traced, with 16 rows or more per image) no matmul of the graph takes the
    big weight as its transposed operand (oneDNN's slow case); below, TF's own gradients."""
    k, n = 24, 40
    step, w_shape, uses = _weight_matmul_graph(fn, rows, k, n, transposed, rows_per_image)
    real_rows = rows or 20
    rng = np.random.default_rng(3)
    x, w, dy = (tf.constant(rng.normal(size=s), tf.float32) for s in ((real_rows, k), w_shape, (real_rows, n)))
    got = [t.numpy() for t in step(x, w, dy)]
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        y = tf.matmul(x, w, transpose_b=transposed)
        loss = tf.reduce_sum(y * dy)
    want = [y.numpy(), *(t.numpy() for t in tape.gradient(loss, [x, w]))]
    for g, e in zip(got, want):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    assert len(uses) == 2  # the forward and the input gradient read the weight; dw does not
    if rows_per_image >= HANDWRITTEN_GRAD_MIN_ROWS:
        assert all(not u.endswith("^T") for u in uses), uses
    else:  # TensorFlow's gradient of x @ w multiplies dy by the transposed weight
        assert any(u.endswith("^T") for u in uses), uses


@pytest.mark.parametrize("cls", [MatmulConv2D, MatmulConv2DTranspose])
def test_matmul_path_gradients_take_no_strided_slice_gradient(cls):
    """The taps are plain slices of a space-to-depth map (convolution) or a split (transposed):
    their gradients are pads and a concat, not StridedSliceGrad, the path's slowest op before."""
    layer = cls(4, 4, strides=2, padding="same", max_matmul_size=16)
    x = tf.random.normal((1, 8, 8, 3))
    layer(x)

    @tf.function
    def grads(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = layer(t)
        return tape.gradient(y, [t, layer.kernel])

    ops = {op.type for op in grads.get_concrete_function(x).graph.get_operations()}
    assert "MatMul" in ops and "Conv2D" not in ops and "Conv2DBackpropInput" not in ops
    assert "StridedSliceGrad" not in ops and "StridedSlice" not in ops


def test_generator_conv_impls_agree(tiny_config):
    cfg = tiny_config.replace(dropout_rate=0.0)
    gens = []
    for impl in ("native", "matmul"):
        keras.utils.set_random_seed(0)
        gens.append(speed_up(Pix2Pix.from_config_object(cfg), conv_impl=impl).generator)
    assert not any(isinstance(l, SmallMapMatmul) and l.max_matmul_size for l in walk_layers(gens[0]))
    assert any(isinstance(l, SmallMapMatmul) and l.max_matmul_size for l in walk_layers(gens[1]))
    gens[1].set_weights(gens[0].get_weights())
    x, _ = _batch(cfg.image_size)
    a, b = (g(x, training=True) for g in gens)
    assert float(tf.reduce_max(tf.abs(a - b))) < 1e-5
    with pytest.raises(ConfigError, match="conv_impl"):
        RunOptions(conv_impl="fast")


def test_precision_policies(tiny_config):
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("auto") == auto_precision()
    assert auto_precision() in ("float32", "mixed_bfloat16", "mixed_float16")
    with pytest.raises(ValueError, match="unknown precision"):
        resolve_precision("float8")
    before = keras.config.dtype_policy().name
    with precision_scope("mixed_bfloat16"):
        layer = keras.layers.Dense(2)
    assert keras.config.dtype_policy().name == before  # restored
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"

    model = Pix2Pix.from_config_object(tiny_config, precision="mixed_bfloat16")
    assert model.precision == "mixed_bfloat16"
    x, y = _batch(tiny_config.image_size)
    assert model.generator(x).dtype == tf.float32  # tanh output stays float32
    assert model.discriminator([x, y]).dtype == tf.float32  # logits too
    assert all(v.dtype == "float32" for v in model.trainable_variables)


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="the CPU rule of auto")
@pytest.mark.parametrize("speedup,expected", [(None, "float32"), (1.1, "float32"),
                                              (1.3, "mixed_bfloat16"), (2.0, "mixed_bfloat16")])
def test_auto_precision_on_a_cpu_follows_the_measured_bf16_speedup(monkeypatch, speedup, expected):
    monkeypatch.setattr(precision_module, "cpu_bf16_speedup", lambda: speedup)
    assert auto_precision() == expected
    assert resolve_precision("auto") == expected


def test_bf16_probe_measures_only_on_cpus_with_bf16_instructions(monkeypatch):
    probe = precision_module.cpu_bf16_speedup.__wrapped__  # the measurement, not the cached value
    monkeypatch.setattr(precision_module, "_cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert probe(repeats=1) is None
    monkeypatch.setattr(precision_module, "_cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    calls = []
    real_fastest = precision_module._fastest
    monkeypatch.setattr(precision_module, "_fastest",
                        lambda call, repeats: calls.append(repeats) or real_fastest(call, repeats))
    speedup = probe(repeats=1)
    assert isinstance(speedup, float) and 0.01 < speedup < 100  # a real ratio of two timings
    assert calls == [1, 1, 1, 1]  # float32 and bfloat16, in alternation, twice


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_train_steps_track_float32(tiny_config, precision):
    """Five steps on one batch: losses within a few percent of the float32 path."""
    cfg = tiny_config.replace(dropout_rate=0.0)
    x, y = _batch(cfg.image_size, n=1)
    losses = {}
    for p in ("float32", precision):
        keras.utils.set_random_seed(0)
        model = Pix2Pix.from_config_object(cfg, precision=p)
        model.compile()
        if p == "mixed_float16":
            assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
            assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
        history = [model.train_step((x, y)) for _ in range(5)]
        losses[p] = np.array([[float(h[k]) for k in ("g_l1", "d_loss")] for h in history])
        assert model.step == 5  # no step skipped for overflow
    np.testing.assert_allclose(losses[precision], losses["float32"], rtol=0.05)


@pytest.mark.slow  # 20-25 s of XLA compilation; CI runs the slow tests too
def test_xla_train_step_on_cpu(tiny_config):
    cfg = tiny_config.replace(dropout_rate=0.0)
    x, y = _batch(cfg.image_size, n=1)
    logs = {}
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        model = Pix2Pix.from_config_object(cfg)
        model.compile(jit_compile=jit)
        model.make_train_function()
        it = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
        for _ in range(3):
            out = model.train_function(it)
        logs[jit] = {k: float(v) for k, v in out.items()}
    for k in ("g_l1", "d_loss", "g_gan"):
        assert logs[True][k] == pytest.approx(logs[False][k], rel=1e-3), k


def test_strategy_errors():
    with pytest.raises(StrategyError, match="unknown strategy"):
        make_strategy("horovod")
    with pytest.raises(StrategyError, match="no TPU"):
        make_strategy("tpu")
    check_global_batch(make_strategy("none"), 1)
    assert make_strategy("auto").num_replicas_in_sync == 1  # no TPU, no GPUs here


_TWO_REPLICAS = textwrap.dedent('''
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from pix2pix_tf.fast.distribute import make_strategy, check_global_batch
    from pix2pix_tf.successors.config import SuccessorConfig
    from pix2pix_tf.successors.model import SuccessorPix2Pix as Pix2Pix

    cfg = SuccessorConfig(image_size=32, load_size=32, ngf=8, ndf=8, dropout_rate=0.0,
                        sync_batch_norm=True, batch_size=2, ema_decay=0.9)  # EMA: updated once per step
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    y = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    ds = tf.data.Dataset.from_tensors((x, y)).repeat(3)
    out = {}
    for name, devices in (("one", ["/cpu:0"]), ("two", ["/cpu:0", "/cpu:1"])):
        strategy = make_strategy("mirrored", devices)
        check_global_batch(strategy, cfg.batch_size)
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = Pix2Pix.from_config_object(cfg)
            model.compile()
        h = model.fit(ds, epochs=1, verbose=0, shuffle=False)
        out[name] = {"replicas": strategy.num_replicas_in_sync,
                     "g": [w.tolist() for w in model.generator.get_weights()[:2]],
                     "d": [w.tolist() for w in model.discriminator.get_weights()[:1]],
                     "ema": [w.tolist() for w in model.ema_generator.get_weights()[:2]],
                     "g_l1": float(h.history["g_l1"][-1]), "step": model.step}
    try:
        check_global_batch(make_strategy("mirrored", ["/cpu:0", "/cpu:1"]), 3)
    except Exception as e:
        out["odd_batch_error"] = str(e)
    print("RESULT" + json.dumps(out))
''')


@pytest.mark.slow
def test_two_replicas_equal_one_replica_at_the_global_batch():
    """MirroredStrategy on two logical CPUs, batch 1 each == one replica at batch 2 (sync BN),
    the EMA of G's weights included."""
    proc = subprocess.run([sys.executable, "-c", _TWO_REPLICAS], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert out["one"]["replicas"] == 1 and out["two"]["replicas"] == 2
    assert out["one"]["step"] == out["two"]["step"] == 3
    for net in ("g", "d", "ema"):
        for a, b in zip(out["one"][net], out["two"][net]):
            np.testing.assert_allclose(np.array(b), np.array(a), atol=2e-5)
    # the average lags G (it is not a copy) and is the same with 1 or 2 replicas (checked above)
    assert np.abs(np.array(out["two"]["ema"][0]) - np.array(out["two"]["g"][0])).max() > 1e-6
    assert out["two"]["g_l1"] == pytest.approx(out["one"]["g_l1"], rel=1e-4)
    assert "multiple of the 2 replicas" in out["odd_batch_error"]


@pytest.mark.parametrize("preprocess", ["resize_and_crop", "crop"])
def test_cached_pipeline_gives_the_same_stream(pair_dir, tiny_config, preprocess):
    """cache=True (decode + resize once, uint8 in memory) == cache=False, bit for bit, also
    when resuming mid-stream (skip), for two epochs of 6 images."""
    from pix2pix_tf.data import cache_bytes, make_dataset, split_pairs
    cfg = tiny_config.replace(image_size=32, load_size=36, preprocess=preprocess, batch_size=2)
    pairs = split_pairs(pair_dir, "train")
    streams = {}
    for cache in (False, True):
        for skip in (0, 4):
            ds, n = make_dataset(pair_dir, "train", cfg, pairs=pairs, cache=cache, skip=skip)
            streams[cache, skip] = [np.concatenate([x.numpy(), y.numpy()], -1)
                                    for x, y in ds.take(6)]
    assert n == 6
    for skip in (0, 4):
        for a, b in zip(streams[False, skip], streams[True, skip]):
            np.testing.assert_array_equal(a, b)
    # the resumed stream continues the full one: batch 2 of the full run = batch 0 after skip 4
    np.testing.assert_array_equal(streams[True, 0][2], streams[True, 4][0])
    assert not np.array_equal(streams[True, 0][0], streams[True, 0][3])  # really different crops
    assert cache_bytes(pairs, cfg) > 0
    ds, _ = make_dataset(pair_dir, "train", cfg, pairs=pairs, parallel=False)
    np.testing.assert_array_equal(np.concatenate([t.numpy() for t in next(iter(ds))], -1),
                                  streams[False, 0][0])


@pytest.mark.parametrize("shape", [(1, 8, 8, 16), (3, 4, 4, 8), (1, 2, 2, 4)])
def test_fused_batch_norm_matches_keras(shape):
    """FusedBatchNorm's training kernel == Keras' BatchNormalization: output, gradients and
    the moving averages (Keras' biased variance)."""
    from pix2pix_tf.fast.batchnorm import FusedBatchNorm as BatchNorm
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=shape).astype("float32") * 3 + 1)
    ref = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer="random_normal",
                                          beta_initializer="random_normal")
    ours = BatchNorm(momentum=0.9, epsilon=1e-5)
    ref.build(shape)
    ours.build(shape)
    ours.set_weights(ref.get_weights())
    results = []
    for layer in (ref, ours):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * y * tf.linspace(0.0, 1.0, shape[-1]))
        grads = tape.gradient(loss, [x, *layer.trainable_variables])
        results.append([y, *grads, layer.moving_mean, layer.moving_variance])
    for a, b in zip(*results):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5)
    assert np.abs(np.asarray(ours.moving_mean)).max() > 0  # the update happened
    graph = tf.function(lambda t: ours(t, training=True)).get_concrete_function(x).graph
    assert "FusedBatchNormV3" in {op.type for op in graph.get_operations()}


@pytest.mark.slow
def test_train_under_a_mirrored_strategy_writes_a_complete_run(pair_dir, tiny_config, tmp_path):
    """train(strategy="mirrored") (one CPU replica here): build, fit, checkpoint, resume, export."""
    from pix2pix_tf.run.loading import load_run
    from pix2pix_tf.run.train import train
    cfg = tiny_config.replace(image_size=32, load_size=36)
    summary = train(cfg, pair_dir, tmp_path / "run", steps=3, strategy="mirrored", verbose=0)
    assert summary["strategy"] == "mirrored" and summary["replicas"] == 1
    assert summary["steps"] == 3 and summary["precision"] == "float32" and not summary["jit_compile"]
    assert (tmp_path / "run" / "saved_model" / "saved_model.pb").is_file()
    resumed = train(None, pair_dir, tmp_path / "run", steps=5, resume=True, strategy="mirrored", verbose=0)
    assert resumed["start_step"] == 3 and resumed["steps"] == 5
    assert load_run(tmp_path / "run").step == 5
