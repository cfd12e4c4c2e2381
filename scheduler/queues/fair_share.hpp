#pragma once
// Weighted dominant resource fairness (DRF) between queues that borrow, and the order in which
// queues' next requests are admitted. Pure functions; docs/queues.md explains the rule.
#include "scheduler/cluster_view.hpp"
#include "scheduler/queues/queue_resources.hpp"

namespace gantry::sched {

// Schedulable capacity of the cluster (cordoned, draining and lost nodes excluded).
queue_resources capacity_of(const cluster_view& view);

// The largest of amount / capacity over the dimensions the cluster has (0..1+).
double dominant_share(const queue_resources& amount, const queue_resources& capacity);

// What a queue borrows: in the dimensions its guarantee covers, usage beyond it; in the
// others, the same fraction of its usage as its work beyond the guarantee (the CPU and memory
// that come with guaranteed GPU work are guaranteed too). The fraction is the largest
// (usage - guarantee) / usage over covered dimensions in use; 1 when none is in use
// (a queue without a guarantee borrows all it uses).
queue_resources borrowed_of(const queue_resources& usage, const queue_resources& guarantee);

// A queue's weighted DRF share: the dominant share of what it borrows, divided by its weight.
// The queue with the lowest share borrows next.
double borrowed_share(const queue_resources& usage, const queue_resources& guarantee,
                      const queue_resources& capacity, double weight);

// A guarantee covers the dimensions it gives a positive amount. Work `need` is within it
// when it asks for some of them and, in each of them, usage + need stays within the
// guarantee; the dimensions it does not cover do not count either way.
bool within_guarantee(const queue_resources& usage, const queue_resources& need,
                      const queue_resources& guarantee);

// How full a queue's guarantee is: the largest usage / guarantee over the dimensions it is
// guaranteed (0 when nothing is guaranteed). Among queues admitting within their guarantee,
// the emptiest goes first.
double guarantee_fill(const queue_resources& usage, const queue_resources& guarantee);

}  // namespace gantry::sched
