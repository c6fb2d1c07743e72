//! Adam over a set of parameters, one `adam_step` dispatch for all of them.
//!
//! At construction the parameters' values and gradients move into two arenas
//! (`Tensor::relocate`), each parameter at the same offset in both, and the moments get
//! two more arenas laid out alike. The update is elementwise, so one launch over the
//! arenas does what one per tensor did, bit for bit; the gaps that keep each parameter
//! on a binding boundary hold zeros, which the update leaves at zero.

use crate::autograd::{Buffer, Param};
use crate::{AdamConfig, Error, Result, Tensor, ops};
use std::rc::Rc;

/// The four arenas, each of `len` elements.
struct Arenas {
    values: Tensor,
    grads: Tensor,
    m: Tensor,
    v: Tensor,
}

pub struct Adam {
    pub config: AdamConfig,
    params: Vec<Rc<Param>>,
    arenas: Option<Arenas>,
    /// Views of each parameter's first and second moments, named after it.
    moments: Vec<(Buffer, Buffer)>,
    step: u32,
}

impl Adam {
    /// Takes over `params`: their values and gradients now live in this optimizer's
    /// arenas. A parameter belongs to one optimizer at a time.
    pub fn new(params: Vec<Rc<Param>>, config: AdamConfig) -> Result<Adam> {
        let Some(first) = params.first() else {
            return Ok(Adam {
                config,
                params,
                arenas: None,
                moments: Vec::new(),
                step: 0,
            });
        };
        let gpu = first.value.gpu();
        let align = gpu.binding_alignment();
        let mut offsets = Vec::with_capacity(params.len());
        let mut len = 0;
        for p in &params {
            offsets.push(len);
            len += p.value.numel().next_multiple_of(align);
        }
        let arena = || ops::zeros(gpu, &[len]);
        let arenas = Arenas {
            values: arena()?,
            grads: arena()?,
            m: arena()?,
            v: arena()?,
        };
        let mut moments = Vec::with_capacity(params.len());
        for (p, &offset) in params.iter().zip(&offsets) {
            p.value.relocate(&arenas.values, offset)?;
            p.grad.relocate(&arenas.grads, offset)?;
            let moment = |arena: &Tensor, what: &str| -> Result<Buffer> {
                Ok(Buffer {
                    name: format!("{}.{what}", p.name),
                    value: Tensor::view(arena, offset, p.value.shape())?,
                })
            };
            moments.push((moment(&arenas.m, "adam_m")?, moment(&arenas.v, "adam_v")?));
        }
        Ok(Adam {
            config,
            params,
            arenas: Some(arenas),
            moments,
            step: 0,
        })
    }

    /// Applies one update from the accumulated gradients.
    pub fn step(&mut self) -> Result<()> {
        let Some(a) = &self.arenas else {
            return Ok(());
        };
        self.check_ownership(a)?;
        self.step += 1;
        ops::adam_step(&a.values, &a.grads, &a.m, &a.v, &self.config, self.step)
    }

    /// A later optimizer over the same parameter moves it to its own arenas; updating
    /// this one's copy would then silently train nothing.
    fn check_ownership(&self, a: &Arenas) -> Result<()> {
        match self
            .params
            .iter()
            .find(|p| !p.value.lies_in(&a.values) || !p.grad.lies_in(&a.grads))
        {
            Some(p) => Err(Error::Usage(format!(
                "parameter {} now belongs to another optimizer; make one optimizer per \
                 set of parameters",
                p.name
            ))),
            None => Ok(()),
        }
    }

    /// Every parameter's gradient, in the one arena `step` reads (none without
    /// parameters): what data-parallel ranks average.
    pub fn grads(&self) -> Option<&Tensor> {
        self.arenas.as_ref().map(|a| &a.grads)
    }

    /// Zeroes every gradient, in one dispatch.
    pub fn zero_grad(&self) -> Result<()> {
        match &self.arenas {
            Some(a) => ops::fill(&a.grads, 0.0),
            None => Ok(()),
        }
    }

    /// Steps taken so far (for bias correction; saved in checkpoints).
    pub fn steps(&self) -> u32 {
        self.step
    }

    pub fn set_steps(&mut self, step: u32) {
        self.step = step;
    }

    /// The moment buffers, for checkpoints.
    pub fn state(&self) -> Vec<&Buffer> {
        self.moments.iter().flat_map(|(m, v)| [m, v]).collect()
    }
}
