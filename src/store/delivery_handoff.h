#pragma once
// DeliveryHandoff: how the writer of new deliveries gives them straight to idle senders. The
// writer reserves senders, adds that many deliveries already SENDING (claimed in the same
// transaction that adds them, Store::add_deliveries), then gives each added one to a reserved
// sender: an email waits for one durable commit fewer, and no sender claims from the store.
// Deliveries beyond the reservation are added PENDING and claimed as usual.
// A delivery given but not sent before a stop stays SENDING; the next start makes it due again
// (Store::requeue_interrupted_deliveries), as for a crash.
// Thread-safe.

#include "store/delivery.h"

namespace hirestream::store {

class DeliveryHandoff {
public:
    virtual ~DeliveryHandoff() = default;
    // Reserves up to `wanted` idle senders; returns how many. Every reservation ends with one
    // give() or one cancel().
    virtual int reserve(int wanted) = 0;
    // Hands a delivery added SENDING to a reserved sender.
    virtual void give(Delivery delivery) = 0;
    // Returns `count` reservations unused (the write failed, or the candidate had a delivery).
    virtual void cancel(int count) = 0;
};

}  // namespace hirestream::store
