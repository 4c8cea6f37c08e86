"""Butcher tableaux used by the generated integrator kernels.

The Dormand-Prince 8(5,3) coefficients (Hairer, Norsett & Wanner, *Solving
Ordinary Differential Equations I*, 2nd ed., section II.10) are taken from
scipy, which ships them as data, so there is one audited copy of these numbers.
numba freezes these module-level arrays into the compiled code as constants.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate._ivp import dop853_coefficients as _dop

DOP_STAGES = int(_dop.N_STAGES)  # 12 stages of the step
DOP_STAGES_EXTENDED = int(_dop.N_STAGES_EXTENDED)  # 16 with the dense-output stages
DOP_INTERPOLATOR_POWER = int(_dop.INTERPOLATOR_POWER)  # 7
DOP_A = np.ascontiguousarray(_dop.A, dtype=np.float64)
DOP_B = np.ascontiguousarray(_dop.B, dtype=np.float64)
DOP_C = np.ascontiguousarray(_dop.C, dtype=np.float64)
DOP_E3 = np.ascontiguousarray(_dop.E3, dtype=np.float64)
DOP_E5 = np.ascontiguousarray(_dop.E5, dtype=np.float64)
DOP_D = np.ascontiguousarray(_dop.D, dtype=np.float64)

assert DOP_A.shape == (DOP_STAGES_EXTENDED, DOP_STAGES_EXTENDED)
assert DOP_D.shape == (DOP_INTERPOLATOR_POWER - 3, DOP_STAGES_EXTENDED)
