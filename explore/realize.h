// explore-internal: a solver model (Mode::Witness) written out as a message, its
// envelope and the facts a test states.
#pragma once

#include <z3++.h>

#include "explore/explore.h"
#include "explore/model.h"

namespace mp::explore {

// `skeleton` gives the presence bits, numbers and addresses; `strings` the texts.
Witness realize(const MessageModel& model, const z3::model& skeleton, const z3::model& strings);

}  // namespace mp::explore
