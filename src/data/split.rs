//! One split of a labelled image set, as bytes on the host.

/// Images (count, C, H, W) as bytes, and one label (0–9) per image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    pub count: usize,
}

impl Split {
    /// Appends the images of `other`, which must be of the same shape.
    pub fn append(&mut self, other: Split) {
        self.images.extend(other.images);
        self.labels.extend(other.labels);
        self.count += other.count;
    }
}

/// One row of `classes` bytes per label: 1 at the label, 0 elsewhere. A label past
/// the last class wraps round.
pub fn one_hot(labels: &[u8], classes: usize) -> Vec<u8> {
    let mut rows = vec![0u8; labels.len() * classes];
    for (row, &label) in labels.iter().enumerate() {
        rows[row * classes + usize::from(label) % classes] = 1;
    }
    rows
}
