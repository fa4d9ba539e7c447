// Copy buttons on pages outside the builder (the YAML page).
import { wireCopyButtons } from "./util.js";

wireCopyButtons();
