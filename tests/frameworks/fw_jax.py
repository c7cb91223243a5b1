"""JAX: a jit-compiled matmul and a reduction through XLA. XLA's autotuner
picks GEMM algorithms by timing, so results may differ bitwise from run to
run: autotuning is turned off and the result is compared with NumPy's to a
stated tolerance (rtol 1e-4, atol 1e-3)."""
import os

os.environ.setdefault("XLA_FLAGS", "--xla_gpu_autotune_level=0")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from fw_common import done  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")  # full FP32, not TF32
print("platform", jax.devices()[0].platform)
key = jax.random.PRNGKey(0)
ka, kb = jax.random.split(key)
a = jax.random.normal(ka, (512, 512), dtype=jnp.float32)
b = jax.random.normal(kb, (512, 512), dtype=jnp.float32)
f = jax.jit(lambda a, b: jnp.tanh(a @ b).sum(axis=0))
got = np.asarray(f(a, b))
want = np.tanh(np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64)).sum(axis=0)
print("jit shape", got.shape, "matches numpy", bool(np.allclose(got, want, rtol=1e-4, atol=1e-3)))
done("fw_jax")
