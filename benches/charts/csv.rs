//! The benchmarks' CSV files: a header row, then rows of plain fields (no quoting: no field
//! holds a comma).

use std::error::Error;
use std::path::Path;

/// A CSV file read whole: column names, then rows.
pub struct Table {
    path: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads `path`, or returns `None` when it does not exist.
    pub fn read_if_exists(path: &Path) -> Result<Option<Table>, Box<dyn Error>> {
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path)?;
        Ok(Some(Table::parse(&path.display().to_string(), &text)?))
    }

    fn parse(path: &str, text: &str) -> Result<Table, Box<dyn Error>> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let split = |l: &str| {
            l.split(',')
                .map(|f| f.trim().to_string())
                .collect::<Vec<_>>()
        };
        let header = split(lines.next().ok_or_else(|| format!("{path}: empty"))?);
        let rows: Vec<Vec<String>> = lines.map(split).collect();
        if let Some(bad) = rows.iter().position(|r| r.len() != header.len()) {
            return Err(format!("{path}: row {} has {} fields", bad + 1, rows[bad].len()).into());
        }
        Ok(Table {
            path: path.to_string(),
            header,
            rows,
        })
    }

    /// One column's fields, top to bottom.
    pub fn column(&self, name: &str) -> Result<Vec<String>, Box<dyn Error>> {
        let i = self
            .header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no column {name}", self.path))?;
        Ok(self.rows.iter().map(|r| r[i].clone()).collect())
    }

    /// One column parsed as numbers.
    pub fn numbers(&self, name: &str) -> Result<Vec<f64>, Box<dyn Error>> {
        self.column(name)?
            .iter()
            .map(|f| {
                f.parse::<f64>()
                    .map_err(|e| format!("{}: {name} = {f:?}: {e}", self.path).into())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn columns_and_numbers() {
        let t = Table::parse("t", "member,ns\nx,1.5\n\ny, 2\n").unwrap();
        assert_eq!(t.column("member").unwrap(), ["x", "y"]);
        assert_eq!(t.numbers("ns").unwrap(), [1.5, 2.0]);
        assert!(t.column("nope").is_err());
        assert!(t.numbers("member").is_err());
    }

    #[test]
    fn ragged_rows_are_refused() {
        assert!(Table::parse("t", "a,b\n1\n").is_err());
        assert!(Table::parse("t", "").is_err());
    }
}
