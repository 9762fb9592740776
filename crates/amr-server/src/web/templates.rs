//! The template environment. Templates are embedded in the binary; `.html` templates are
//! auto-escaped.

use minijinja::Environment;

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> Templates {
        let env = Environment::new();
        Templates { env }
    }

    pub fn env(&self) -> &Environment<'static> {
        &self.env
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}
