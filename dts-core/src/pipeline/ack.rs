//! [`AckTracker`]: ordered acknowledgement of out-of-order deliveries.

use std::collections::VecDeque;

/// Tracks records in send order and releases them only as a contiguous acknowledged prefix.
///
/// Deliveries may be acknowledged in any order; [`pop_acked`](Self::pop_acked) yields records
/// strictly in the order they were [`push`](Self::push)ed, stopping at the first record not yet
/// acknowledged. A checkpoint taken from the popped records therefore never covers a record that
/// was not acknowledged.
#[derive(Debug)]
pub struct AckTracker<M> {
    /// Sequence number of `slots[0]`.
    head: u64,
    slots: VecDeque<(bool, M)>,
}

/// An acknowledgement for a sequence number that is not pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("acknowledgement for unknown sequence number {0}")]
pub struct UnknownSequence(pub u64);

impl<M> Default for AckTracker<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> AckTracker<M> {
    /// An empty tracker; the first record gets sequence number 0.
    #[must_use]
    pub fn new() -> Self {
        Self {
            head: 0,
            slots: VecDeque::new(),
        }
    }

    /// Registers the next record; returns its sequence number.
    pub fn push(&mut self, meta: M) -> u64 {
        let seq = self.head + self.slots.len() as u64;
        self.slots.push_back((false, meta));
        seq
    }

    /// The sequence number the next [`push`](Self::push) returns.
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.head + self.slots.len() as u64
    }

    /// Marks `seq` acknowledged.
    ///
    /// # Errors
    /// [`UnknownSequence`] if `seq` was never pushed, was already popped, or was acknowledged
    /// twice.
    pub fn ack(&mut self, seq: u64) -> Result<(), UnknownSequence> {
        let slot = seq
            .checked_sub(self.head)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.slots.get_mut(i))
            .filter(|s| !s.0)
            .ok_or(UnknownSequence(seq))?;
        slot.0 = true;
        Ok(())
    }

    /// The record with sequence number `seq`, if it is pending.
    #[must_use]
    pub fn get(&self, seq: u64) -> Option<&M> {
        let i = usize::try_from(seq.checked_sub(self.head)?).ok()?;
        self.slots.get(i).map(|(_, m)| m)
    }

    /// Removes and returns the oldest record if it is acknowledged.
    pub fn pop_acked(&mut self) -> Option<(u64, M)> {
        if !self.slots.front()?.0 {
            return None;
        }
        let (_, meta) = self.slots.pop_front()?;
        let seq = self.head;
        self.head += 1;
        Some((seq, meta))
    }

    /// Records pushed and not yet popped.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// `true` when nothing is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_only_the_contiguous_prefix() {
        let mut t = AckTracker::new();
        let seqs: Vec<u64> = (0..5).map(|i| t.push(i)).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4]);
        t.ack(2).unwrap();
        t.ack(4).unwrap();
        assert_eq!(t.pop_acked(), None, "0 not acked: nothing released");
        t.ack(0).unwrap();
        assert_eq!(t.pop_acked(), Some((0, 0)));
        assert_eq!(t.pop_acked(), None, "1 not acked");
        t.ack(1).unwrap();
        assert_eq!(t.pop_acked(), Some((1, 1)));
        assert_eq!(t.pop_acked(), Some((2, 2)));
        assert_eq!(t.pop_acked(), None);
        t.ack(3).unwrap();
        assert_eq!(t.pop_acked(), Some((3, 3)));
        assert_eq!(t.pop_acked(), Some((4, 4)));
        assert!(t.is_empty());
    }

    #[test]
    fn bad_acks_are_refused() {
        let mut t = AckTracker::new();
        t.push(());
        assert_eq!(t.ack(1), Err(UnknownSequence(1)));
        t.ack(0).unwrap();
        assert_eq!(t.ack(0), Err(UnknownSequence(0)), "double ack");
        t.pop_acked().unwrap();
        assert_eq!(t.ack(0), Err(UnknownSequence(0)), "already released");
    }

    #[test]
    fn random_orders_never_release_unacked() {
        // A small deterministic shuffle over many orders.
        let n = 64u64;
        for seed in 1..200u64 {
            let mut t = AckTracker::new();
            for i in 0..n {
                t.push(i);
            }
            let mut order: Vec<u64> = (0..n).collect();
            let mut x = seed;
            for i in (1..order.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                order.swap(i, usize::try_from(x % (i as u64 + 1)).unwrap());
            }
            let mut acked = [false; 64];
            let mut released = 0u64;
            for seq in order {
                t.ack(seq).unwrap();
                acked[usize::try_from(seq).unwrap()] = true;
                while let Some((s, m)) = t.pop_acked() {
                    assert_eq!((s, m), (released, released));
                    assert!(acked[..=usize::try_from(s).unwrap()].iter().all(|&a| a));
                    released += 1;
                }
            }
            assert_eq!(released, n);
        }
    }
}
