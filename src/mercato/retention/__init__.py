"""mercato.retention"""
