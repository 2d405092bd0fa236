//! A stand-in for `vmlab::render::steps::Stepper` (being written on another
//! branch): the same API, narration only, no pictures. Replaced by the real
//! one when it is merged.

use vmlab::kernel::event::Event;
use vmlab::render::events;
use vmlab::scenario::{self, Scenario};

/// The pictures after a step (empty in this stand-in).
pub struct Pictures {
    /// Physical memory map.
    pub memory_map: String,
    /// Virtual address spaces.
    pub address_space: String,
    /// The step's translation.
    pub translation: Option<String>,
    /// The step's context switch.
    pub context_switch: Option<String>,
    /// The run's cost.
    pub cost: Option<String>,
}

/// A scenario's run as narrated steps.
pub struct Stepper {
    title: String,
    steps: Vec<(String, &'static str, bool)>,
}

impl Stepper {
    /// Runs the scenario as `vmlab scenario run` does.
    pub fn from_scenario(sc: &Scenario) -> Result<Stepper, String> {
        let log = scenario::run(sc);
        if log.is_empty() {
            return Err(match scenario::run_kernel(sc) {
                Err(e) => e,
                Ok(_) => "the scenario produced no events".into(),
            });
        }
        let steps = log
            .iter()
            .filter_map(|e| {
                let text = events::narrate(std::slice::from_ref(e), sc.switch_steps);
                let fault = matches!(e, Event::Kill { .. });
                (!text.is_empty()).then_some((text, "event", fault))
            })
            .collect();
        Ok(Stepper {
            title: sc.title.clone(),
            steps,
        })
    }
    /// The title.
    pub fn title(&self) -> &str {
        &self.title
    }
    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }
    /// Step i's narration.
    pub fn narration(&self, i: usize) -> String {
        self.steps[i.min(self.len() - 1)].0.clone()
    }
    /// Step i's kind.
    pub fn kind(&self, i: usize) -> &'static str {
        self.steps[i.min(self.len() - 1)].1
    }
    /// The first faulting step.
    pub fn first_fault(&self) -> Option<usize> {
        self.steps.iter().position(|s| s.2)
    }
    /// No pictures here.
    pub fn pictures(&self, _i: usize) -> Pictures {
        Pictures {
            memory_map: String::new(),
            address_space: String::new(),
            translation: None,
            context_switch: None,
            cost: None,
        }
    }
}
