"""JAX: a jit-compiled matmul and a reduction through XLA."""
import jax
import jax.numpy as jnp
import numpy as np

from fw_common import checksum, done

print("platform", jax.devices()[0].platform)
key = jax.random.PRNGKey(0)
ka, kb = jax.random.split(key)
a = jax.random.normal(ka, (512, 512), dtype=jnp.float32)
b = jax.random.normal(kb, (512, 512), dtype=jnp.float32)
f = jax.jit(lambda a, b: jnp.tanh(a @ b).sum(axis=0))
print("jit", checksum(np.asarray(f(a, b)).tobytes()))
done("fw_jax")
