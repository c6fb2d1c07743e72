//! `Array`: a host-side f64 tensor for the reference ops.

#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Array {
    pub fn new(shape: &[usize], data: Vec<f64>) -> Array {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape {shape:?} vs {} values",
            data.len()
        );
        Array {
            shape: shape.to_vec(),
            data,
        }
    }

    pub fn from_f32(shape: &[usize], data: &[f32]) -> Array {
        Array::new(shape, data.iter().map(|&v| f64::from(v)).collect())
    }

    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }

    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// Maps every element, keeping the shape.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Array {
        Array::new(&self.shape, self.data.iter().map(|&v| f(v)).collect())
    }

    /// Combines two arrays of one shape element by element.
    pub fn zip(&self, other: &Array, f: impl Fn(f64, f64) -> f64) -> Array {
        assert_eq!(self.shape, other.shape, "zip of different shapes");
        Array::new(
            &self.shape,
            self.data
                .iter()
                .zip(&other.data)
                .map(|(&a, &b)| f(a, b))
                .collect(),
        )
    }
}
