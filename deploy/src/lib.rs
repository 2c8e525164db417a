//! phirig-deploy: finds the cards (MPSS sysfs, static SSH hosts, the local machine), copies the agent
//! to them, starts, stops and supervises it.
