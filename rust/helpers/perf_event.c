// SPDX-License-Identifier: GPL-2.0

#include <linux/perf_event.h>
#include <linux/topology.h>

__rust_helper u64 rust_helper_local64_xchg(local64_t *l, u64 n)
{
	return local64_xchg(l, n);
}

__rust_helper void rust_helper_local64_add(s64 i, local64_t *l)
{
	local64_add(i, l);
}

__rust_helper void rust_helper_local64_set(local64_t *l, u64 i)
{
	local64_set(l, i);
}

__rust_helper const struct cpumask *rust_helper_cpumask_of_node(int node)
{
	return cpumask_of_node(node);
}
