//! Reading the bytes of Kafka's standard consumer protocol ("consumer" protocol type), for
//! showing Kafka members' topics and partitions. The broker otherwise treats them as
//! opaque; bytes in another shape read as `None`.

/// The topics a member's subscription metadata names (any version: the topic list
/// follows the version in all of them).
pub fn subscribed_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut reader = Reader(metadata);
    reader.i16()?;
    let count = reader.array_len()?;
    (0..count).map(|_| reader.string()).collect()
}

/// The partitions an assignment gives, per topic (any version).
pub fn assigned_partitions(assignment: &[u8]) -> Option<Vec<(String, Vec<i32>)>> {
    let mut reader = Reader(assignment);
    reader.i16()?;
    let count = reader.array_len()?;
    (0..count)
        .map(|_| {
            let topic = reader.string()?;
            let partitions = reader.array_len()?;
            let partitions = (0..partitions).map(|_| reader.i32()).collect::<Option<Vec<i32>>>()?;
            Some((topic, partitions))
        })
        .collect()
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// An array length; a null or an impossible length (longer than the bytes left,
    /// with at least 2 bytes an element) reads as `None` rather than allocating.
    fn array_len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.i32()?).ok()?;
        (n <= self.0.len() / 2).then_some(n)
    }

    fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.i16()?).ok()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}
