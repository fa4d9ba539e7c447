// Copy buttons on pages outside the builder (the YAML page).
import { enableCopyButtons } from "./util.js";

enableCopyButtons();
