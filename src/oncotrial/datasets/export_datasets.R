# Exports the real trial data sets bundled with oncotrial from R `survival`.
# Run from the repository root:  Rscript src/oncotrial/datasets/export_datasets.R
# (R 4.2.2, survival 3.5-3). Factors are written as their labels; NA as empty cells.
suppressPackageStartupMessages(library(survival))
out <- "src/oncotrial/datasets/data"
put <- function(df, name) {
  for (v in names(df)) if (is.factor(df[[v]])) df[[v]] <- as.character(df[[v]])
  write.csv(df, file.path(out, paste0(name, ".csv")), row.names = FALSE, na = "")
}
put(survival::colon, "colon")
put(survival::veteran, "veteran")
put(survival::ovarian, "ovarian")
put(survival::pbc, "pbc")
put(survival::gbsg, "gbsg")
put(survival::lung, "lung")
put(survival::aml, "aml")
cat("survival", as.character(packageVersion("survival")), "\n")
